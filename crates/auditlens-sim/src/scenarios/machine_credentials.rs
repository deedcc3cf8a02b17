//! Attacks with machine credentials: service account tokens, a kubelet's certificate, a
//! minted token, and no credentials at all. Each is a few requests from the identity, address
//! and user agent that make it an attack, with responses consistent with the simulated RBAC
//! and node authorizer.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use rand::Rng;

use crate::catalog::*;
use crate::clock::{MILLI, MINUTE};
use crate::identity::{cluster_binding, Actor, Identity, Subject};
use crate::json::{arr, obj, Json};
use crate::scenarios::script::{attacker_kubectl, borrowed, human_actor, Script};
use crate::traffic::discovery;
use crate::world::{SimRng, World};

/// Argo CD's controller token, lifted from its pod, used with kubectl from outside.
pub(crate) fn stolen_sa_token(w: &mut World, rng: &mut SimRng, at: i64) {
    let actor = borrowed(w, w.roster.argocd, attacker_kubectl(), [192, 0, 2, 44]);
    let mut s = Script::typing(discovery(w, rng, actor, at));
    s.call(w, rng, actor, "list", |r| {
        r.cluster(&NAMESPACES).query("limit=500")
    });
    s.call(w, rng, actor, "list", |r| {
        r.cluster(&SECRETS).query("limit=500")
    });
    for ns in ["prod", "kube-system"] {
        s.call(w, rng, actor, "list", |r| {
            r.collection(&SECRETS, ns).query("limit=500")
        });
    }
    for (ns, name) in [
        ("prod", "catalog-db-secrets"),
        ("prod", "checkout-api-secrets"),
        ("argocd", "argocd-secret"),
    ] {
        s.call(w, rng, actor, "get", |r| r.object(&SECRETS, ns, name));
    }
}

/// The same stolen token removing events.
pub(crate) fn delete_events(w: &mut World, rng: &mut SimRng, at: i64) {
    let actor = borrowed(w, w.roster.argocd, attacker_kubectl(), [192, 0, 2, 44]);
    let mut s = Script::typing(at);
    s.call(w, rng, actor, "list", |r| {
        r.collection(&EVENTS, "kube-system").query("limit=500")
    });
    s.call(w, rng, actor, "deletecollection", |r| {
        r.collection(&EVENTS, "kube-system")
    });
    let mut s = Script {
        min_gap: 30 * MILLI,
        max_gap: 200 * MILLI,
        ..s
    };
    let pods: Vec<Arc<str>> = w
        .cluster
        .pods_in("prod")
        .take(3)
        .map(|p| p.name.clone())
        .collect();
    for pod in pods {
        let event = format!("{pod}.{:016x}", rng.gen::<u64>());
        s.call(w, rng, actor, "delete", |r| {
            r.object(&EVENTS, "prod", event)
        });
    }
}

/// Unauthenticated requests from outside that a leftover binding lets through.
pub(crate) fn anonymous_allowed(w: &mut World, rng: &mut SimRng, at: i64) {
    let ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 91));
    let actor = w.add_actor(Actor::new(
        Identity::anonymous(),
        Arc::from("curl/8.5.0"),
        ip,
        crate::identity::public_info_reason(),
    ));
    let leak = cluster_binding(
        "legacy-anonymous-read",
        "view",
        &Subject::User("system:anonymous"),
    );
    let mut s = Script::typing(at);
    s.call(w, rng, actor, "get", |r| r.path("/version"));
    s.call(w, rng, actor, "list", |r| {
        r.cluster(&PODS).reason(leak.clone())
    });
    s.call(w, rng, actor, "list", |r| {
        r.collection(&CONFIGMAPS, "kube-system")
            .reason(leak.clone())
    });
    s.call(w, rng, actor, "get", |r| {
        r.object(&CONFIGMAPS, "kube-system", "kubeadm-config")
            .reason(leak)
    });
    s.call(w, rng, actor, "list", |r| {
        r.collection(&SECRETS, "prod").forbid()
    });
}

/// A compromised pod's token probing its permissions, then trying everything.
pub(crate) fn enumeration_and_forbidden_storm(w: &mut World, rng: &mut SimRng, at: i64) {
    let pod = w
        .cluster
        .app_index("dev", "web-frontend")
        .and_then(|app| w.cluster.pods_of(app).next())
        .map(|p| (p.name.clone(), p.uid.clone(), p.ip));
    let Some((pod_name, pod_uid, pod_ip)) = pod else {
        return;
    };
    let uid = w.cluster.account_uid(rng, "dev", "web-frontend");
    let identity =
        Identity::service_account("dev", "web-frontend", &uid, Some((&pod_name, &pod_uid)));
    let basic = cluster_binding(
        "system:basic-user",
        "system:basic-user",
        &Subject::Group("system:authenticated"),
    );
    let actor = w.add_actor(Actor::new(
        identity,
        attacker_kubectl(),
        IpAddr::V4(pod_ip),
        basic,
    ));
    let mut s = Script::typing(discovery(w, rng, actor, at));
    let rules = obj! {
        "kind": "SelfSubjectRulesReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": obj! { "creationTimestamp": Json::Null },
        "spec": obj! { "namespace": "dev" },
        "status": obj! { "resourceRules": Json::Null, "nonResourceRules": Json::Null, "incomplete": false },
    };
    s.call(w, rng, actor, "create", |r| {
        r.cluster(&SELF_SUBJECT_RULES_REVIEWS).body(&rules)
    });
    for (verb, resource, ns) in [
        ("list", "secrets", "dev"),
        ("create", "pods/exec", "dev"),
        ("create", "clusterrolebindings", ""),
    ] {
        let (resource, sub) = resource
            .split_once('/')
            .map_or((resource, ""), |(r, s)| (r, s));
        let body = obj! {
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": obj! { "creationTimestamp": Json::Null },
            "spec": obj! { "resourceAttributes": obj! {
                "namespace": ns, "verb": verb, "resource": resource, "subresource": sub,
            } },
            "status": obj! { "allowed": false },
        };
        s.call(w, rng, actor, "create", |r| {
            r.cluster(&SELF_SUBJECT_ACCESS_REVIEWS).body(&body)
        });
    }
    let mut s = Script {
        min_gap: 15 * MILLI,
        max_gap: 250 * MILLI,
        ..s
    };
    let storm: [(&'static Resource, Option<&str>); 14] = [
        (&SECRETS, Some("dev")),
        (&SECRETS, None),
        (&CONFIGMAPS, Some("kube-system")),
        (&PODS, Some("kube-system")),
        (&SECRETS, Some("kube-system")),
        (&NODES, None),
        (&NAMESPACES, None),
        (&CLUSTERROLEBINDINGS, None),
        (&ROLEBINDINGS, Some("dev")),
        (&SERVICEACCOUNTS, Some("kube-system")),
        (&DEPLOYMENTS, Some("prod")),
        (&PODS, Some("prod")),
        (&DAEMONSETS, Some("kube-system")),
        (&CRONJOBS, None),
    ];
    for (resource, ns) in storm {
        let request = w.call(rng, actor, "list", s.t).query("limit=500");
        let request = match ns {
            Some(ns) => request.collection(resource, ns),
            None => request.cluster(resource),
        };
        s.send(w, rng, request.forbid());
    }
}

/// A long-lived token minted for a powerful controller account, then used from outside.
pub(crate) fn token_request(w: &mut World, rng: &mut SimRng, at: i64) {
    let admin = human_actor(w, 0);
    let actor = borrowed(w, admin, attacker_kubectl(), [192, 0, 2, 77]);
    let body = obj! {
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": obj! { "creationTimestamp": Json::Null },
        "spec": obj! {
            "audiences": arr!["https://kubernetes.default.svc.cluster.local"],
            "expirationSeconds": 31_536_000_u32,
            "boundObjectRef": Json::Null,
        },
        "status": obj! { "token": "", "expirationTimestamp": Json::Null },
    };
    let mut s = Script::typing(at);
    let mint = w
        .call(rng, actor, "create", s.t)
        .object(
            &SERVICEACCOUNTS,
            "kube-system",
            "clusterrole-aggregation-controller",
        )
        .sub("token")
        .body(&body);
    s.send(w, rng, mint);
    let controller = w
        .roster
        .ctl(crate::traffic::control_plane::Ctl::ClusterRoleAggregation);
    let minted = borrowed(w, controller, attacker_kubectl(), [192, 0, 2, 77]);
    s.t += rng.gen_range(MINUTE..3 * MINUTE);
    s.call(w, rng, minted, "list", |r| {
        r.cluster(&CLUSTERROLES).query("limit=500")
    });
    s.call(w, rng, minted, "get", |r| {
        r.cluster_object(&CLUSTERROLES, "system:aggregate-to-view")
    });
    let widened = obj! {
        "kind": "ClusterRole",
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "metadata": obj! {
            "name": "system:aggregate-to-view",
            "labels": obj! { "rbac.authorization.k8s.io/aggregate-to-view": "true" },
        },
        "rules": arr![obj! {
            "verbs": arr!["get", "list", "watch"],
            "apiGroups": arr![""],
            "resources": arr!["pods", "services", "configmaps", "secrets"],
        }],
    };
    let update = w
        .call(rng, minted, "update", s.t)
        .cluster_object(&CLUSTERROLES, "system:aggregate-to-view")
        .query("fieldManager=kubectl-edit&fieldValidation=Strict")
        .body(&widened)
        .response(&widened);
    s.send(w, rng, update);
}

/// A kubelet's client certificate used with kubectl from outside the node network.
pub(crate) fn node_credentials_abuse(w: &mut World, rng: &mut SimRng, at: i64) {
    let Some(node) = w.cluster.nodes.first() else {
        return;
    };
    let (kubelet, node_name) = (node.kubelet, node.name.clone());
    let mounted = w
        .cluster
        .pods_on(0)
        .filter_map(|p| p.app.map(|a| (p.namespace.clone(), &w.cluster.apps[a])))
        .find(|(_, app)| app.has_secret)
        .map(|(ns, app)| (ns, app.secret_name()));
    let actor = borrowed(w, kubelet, attacker_kubectl(), [192, 0, 2, 130]);
    let no_relationship: Arc<str> = Arc::from(format!(
        "no relationship found between node '{node_name}' and this object"
    ));
    let mut s = Script::typing(at);
    s.call(w, rng, actor, "list", |r| {
        r.cluster(&PODS).query("limit=500")
    });
    s.call(w, rng, actor, "list", |r| {
        r.cluster(&NODES).query("limit=500")
    });
    let list_secrets = w
        .call(rng, actor, "list", s.t)
        .collection(&SECRETS, "prod")
        .query("limit=500")
        .forbid();
    s.send(
        w,
        rng,
        list_secrets.reason(Arc::from("can only get individual resources of this type")),
    );
    let foreign = w
        .call(rng, actor, "get", s.t)
        .object(&SECRETS, "prod", "catalog-db-secrets")
        .forbid();
    s.send(w, rng, foreign.reason(no_relationship.clone()));
    let system = w
        .call(rng, actor, "get", s.t)
        .object(&SECRETS, "kube-system", "bootstrap-token-abcdef")
        .forbid();
    s.send(w, rng, system.reason(no_relationship));
    if let Some((ns, secret)) = mounted {
        s.call(w, rng, actor, "get", |r| r.object(&SECRETS, ns, secret));
    }
}
