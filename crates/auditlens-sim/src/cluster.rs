//! The simulated cluster's objects: namespaces, nodes, applications and their pods.
//!
//! Traffic reads this state to build plausible requests (a kubelet watches the config maps of
//! the pods on its node; a developer tails the logs of a pod that exists), and workload
//! cascades change it (a rollout replaces an application's pods).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use rand::Rng;
use serde_json::value::RawValue;

use crate::event::AuditId;
use crate::identity::ActorId;
use crate::json::{arr, obj, raw, Json};

/// Characters Kubernetes uses for generated name suffixes (no vowels, no look-alikes).
const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// A uniform index below `len` (which must not be 0), drawn the same way on 32- and 64-bit
/// targets: `gen_range` over `usize` is not, and the output must not depend on the platform.
pub(crate) fn random_index(rng: &mut impl Rng, len: usize) -> usize {
    rng.gen_range(0..u32::try_from(len).unwrap_or(u32::MAX)) as usize
}

/// A random suffix of `len` characters from Kubernetes' name alphabet.
pub(crate) fn name_suffix(rng: &mut impl Rng, len: usize) -> String {
    (0..len)
        .map(|_| char::from(NAME_ALPHABET[random_index(rng, NAME_ALPHABET.len())]))
        .collect()
}

/// A random object UID.
pub(crate) fn new_uid(rng: &mut impl Rng) -> Arc<str> {
    Arc::from(AuditId::random(rng).to_string())
}

pub(crate) struct Namespace {
    pub name: Arc<str>,
    /// Pod Security admission level enforced on the namespace.
    pub enforce: &'static str,
}

pub(crate) struct Node {
    pub name: Arc<str>,
    pub kubelet: ActorId,
    pub kube_proxy: ActorId,
    pub last_status_patch: i64,
    pub next_pod_ip: u8,
    /// Index in the pod network `10.244.<index>.0/24`.
    pub index: u8,
}

/// A Deployment-managed application.
pub(crate) struct App {
    pub namespace: Arc<str>,
    pub name: Arc<str>,
    pub replicas: u32,
    pub repository: String,
    /// `None` for third-party images with a fixed tag in `repository`.
    pub build: Option<u32>,
    pub port: u16,
    pub has_config: bool,
    pub has_secret: bool,
    pub autoscaled: bool,
    pub rs_hash: Arc<str>,
    pub rs_uid: Arc<str>,
    /// The pod the ReplicaSet controller posts, rendered once per ReplicaSet.
    pub template: Arc<RawValue>,
}

impl App {
    pub(crate) fn image(&self) -> String {
        match self.build {
            Some(build) => format!("{}:1.{}.{}", self.repository, 14 + build / 40, build % 40),
            None => self.repository.clone(),
        }
    }

    pub(crate) fn rs_name(&self) -> String {
        format!("{}-{}", self.name, self.rs_hash)
    }

    pub(crate) fn config_name(&self) -> String {
        format!("{}-config", self.name)
    }

    pub(crate) fn secret_name(&self) -> String {
        format!("{}-secrets", self.name)
    }
}

pub(crate) struct Pod {
    pub name: Arc<str>,
    pub uid: Arc<str>,
    pub namespace: Arc<str>,
    pub app: Option<usize>,
    pub node: usize,
    pub ip: Ipv4Addr,
}

/// Static description of an application deployed at start.
pub(crate) struct AppSpec {
    pub namespace: &'static str,
    pub name: &'static str,
    pub replicas: u32,
    pub repository: &'static str,
    pub built_here: bool,
    pub port: u16,
    pub has_config: bool,
    pub has_secret: bool,
    pub autoscaled: bool,
}

const fn app(
    namespace: &'static str,
    name: &'static str,
    replicas: u32,
    repository: &'static str,
    port: u16,
) -> AppSpec {
    AppSpec {
        namespace,
        name,
        replicas,
        repository,
        built_here: false,
        port,
        has_config: true,
        has_secret: false,
        autoscaled: false,
    }
}

const fn shop(
    namespace: &'static str,
    name: &'static str,
    replicas: u32,
    port: u16,
    secret: bool,
) -> AppSpec {
    AppSpec {
        namespace,
        name,
        replicas,
        repository: "",
        built_here: true,
        port,
        has_config: true,
        has_secret: secret,
        autoscaled: false,
    }
}

/// Namespaces with the Pod Security level each enforces.
pub(crate) const NAMESPACES: &[(&str, &str)] = &[
    ("default", "privileged:latest"),
    ("kube-system", "privileged:latest"),
    ("kube-public", "privileged:latest"),
    ("kube-node-lease", "privileged:latest"),
    ("monitoring", "baseline:latest"),
    ("argocd", "baseline:latest"),
    ("ingress-nginx", "baseline:latest"),
    ("cert-manager", "restricted:latest"),
    ("ci", "baseline:latest"),
    ("batch", "baseline:latest"),
    ("dev", "baseline:latest"),
    ("staging", "restricted:latest"),
    ("prod", "restricted:latest"),
];

/// The namespaces the company's own services run in.
pub(crate) const APP_NAMESPACES: &[&str] = &["dev", "staging", "prod"];

/// Applications running when the simulation starts.
pub(crate) fn initial_apps() -> Vec<AppSpec> {
    let mut apps = Vec::new();
    for (ns, scale) in [("prod", 2), ("staging", 1), ("dev", 1)] {
        let mut frontend = shop(
            ns,
            "web-frontend",
            scale + u32::from(ns == "prod"),
            8080,
            false,
        );
        frontend.autoscaled = ns == "prod";
        apps.push(frontend);
        let mut checkout = shop(ns, "checkout-api", scale, 8080, true);
        checkout.autoscaled = ns == "prod";
        apps.push(checkout);
        apps.push(shop(ns, "orders-worker", scale, 9090, true));
        apps.push(app(
            ns,
            "redis",
            1,
            "docker.io/library/redis:7.2.4-alpine",
            6379,
        ));
        let mut db = app(ns, "catalog-db", 1, "docker.io/library/postgres:16.2", 5432);
        db.has_secret = true;
        apps.push(db);
    }
    apps.push(shop("dev", "sandbox", 1, 8080, false));
    apps.push(app(
        "kube-system",
        "coredns",
        2,
        "registry.k8s.io/coredns/coredns:v1.11.1",
        53,
    ));
    apps.push(app(
        "kube-system",
        "metrics-server",
        1,
        "registry.k8s.io/metrics-server/metrics-server:v0.7.1",
        10250,
    ));
    apps.push(app(
        "monitoring",
        "prometheus",
        1,
        "quay.io/prometheus/prometheus:v2.51.2",
        9090,
    ));
    apps.push(app(
        "monitoring",
        "kube-state-metrics",
        1,
        "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.12.0",
        8080,
    ));
    apps.push(app(
        "monitoring",
        "grafana",
        1,
        "docker.io/grafana/grafana:10.4.2",
        3000,
    ));
    apps.push(app(
        "argocd",
        "argocd-application-controller",
        1,
        "quay.io/argoproj/argocd:v2.10.7",
        8082,
    ));
    apps.push(app(
        "argocd",
        "argocd-server",
        1,
        "quay.io/argoproj/argocd:v2.10.7",
        8080,
    ));
    apps.push(app(
        "argocd",
        "argocd-repo-server",
        1,
        "quay.io/argoproj/argocd:v2.10.7",
        8081,
    ));
    apps.push(app(
        "ingress-nginx",
        "ingress-nginx-controller",
        2,
        "registry.k8s.io/ingress-nginx/controller:v1.10.1",
        443,
    ));
    apps.push(app(
        "cert-manager",
        "cert-manager",
        1,
        "quay.io/jetstack/cert-manager-controller:v1.14.4",
        9402,
    ));
    apps.push(app(
        "cert-manager",
        "cert-manager-webhook",
        1,
        "quay.io/jetstack/cert-manager-webhook:v1.14.4",
        10250,
    ));
    apps
}

#[derive(Default)]
pub(crate) struct Cluster {
    pub namespaces: Vec<Namespace>,
    pub nodes: Vec<Node>,
    pub apps: Vec<App>,
    pub pods: Vec<Pod>,
    /// Service account UIDs by `namespace/name`.
    pub accounts: BTreeMap<String, Arc<str>>,
}

impl Cluster {
    /// The UID of a service account, made up the first time it is asked for.
    pub(crate) fn account_uid(
        &mut self,
        rng: &mut impl Rng,
        namespace: &str,
        name: &str,
    ) -> Arc<str> {
        self.accounts
            .entry(format!("{namespace}/{name}"))
            .or_insert_with(|| new_uid(rng))
            .clone()
    }

    pub(crate) fn namespace(&self, name: &str) -> Option<&Namespace> {
        self.namespaces.iter().find(|ns| &*ns.name == name)
    }

    /// The shared name of a namespace (cheap to clone into requests).
    pub(crate) fn ns(&self, name: &str) -> Arc<str> {
        self.namespace(name)
            .map_or_else(|| Arc::from(name), |ns| ns.name.clone())
    }

    pub(crate) fn enforce_level(&self, namespace: &str) -> &'static str {
        self.namespace(namespace)
            .map_or("privileged:latest", |ns| ns.enforce)
    }

    pub(crate) fn app_index(&self, namespace: &str, name: &str) -> Option<usize> {
        self.apps
            .iter()
            .position(|a| &*a.namespace == namespace && &*a.name == name)
    }

    pub(crate) fn pods_of(&self, app: usize) -> impl Iterator<Item = &Pod> {
        self.pods.iter().filter(move |p| p.app == Some(app))
    }

    pub(crate) fn pods_on(&self, node: usize) -> impl Iterator<Item = &Pod> {
        self.pods.iter().filter(move |p| p.node == node)
    }

    pub(crate) fn pods_in<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = &'a Pod> {
        self.pods.iter().filter(move |p| &*p.namespace == namespace)
    }

    /// A random existing pod of the namespace.
    pub(crate) fn random_pod_in<'a>(
        &'a self,
        rng: &mut impl Rng,
        namespace: &'a str,
    ) -> Option<&'a Pod> {
        let count = self.pods_in(namespace).count();
        if count == 0 {
            return None;
        }
        self.pods_in(namespace).nth(random_index(rng, count))
    }

    /// Places a new pod named `name` on a node, the least loaded of two random picks.
    pub(crate) fn place_pod(
        &mut self,
        rng: &mut impl Rng,
        name: Arc<str>,
        namespace: Arc<str>,
        app: Option<usize>,
    ) -> usize {
        let a = random_index(rng, self.nodes.len());
        let b = random_index(rng, self.nodes.len());
        let node = if self.pods_on(a).count() <= self.pods_on(b).count() {
            a
        } else {
            b
        };
        self.place_pod_on(rng, name, namespace, app, node)
    }

    pub(crate) fn place_pod_on(
        &mut self,
        rng: &mut impl Rng,
        name: Arc<str>,
        namespace: Arc<str>,
        app: Option<usize>,
        node: usize,
    ) -> usize {
        let host = &mut self.nodes[node];
        host.next_pod_ip = if host.next_pod_ip >= 250 {
            2
        } else {
            host.next_pod_ip + 1
        };
        let ip = Ipv4Addr::new(10, 244, host.index, host.next_pod_ip);
        self.pods.push(Pod {
            name,
            uid: new_uid(rng),
            namespace,
            app,
            node,
            ip,
        });
        self.pods.len() - 1
    }

    /// Gives `app` a new ReplicaSet (hash, uid, pod template), as a rollout does.
    pub(crate) fn new_replica_set(&mut self, rng: &mut impl Rng, app: usize) {
        let hash: Arc<str> = Arc::from(name_suffix(rng, 10));
        let uid = new_uid(rng);
        let app = &mut self.apps[app];
        app.rs_hash = hash;
        app.rs_uid = uid;
        let enforce = self
            .namespaces
            .iter()
            .find(|ns| ns.name == app.namespace)
            .map_or("", |ns| ns.enforce);
        app.template = raw(&pod_for_replica_set(app, enforce == "restricted:latest"));
    }
}

/// The pod a ReplicaSet controller creates for `app` (with `generateName`; the server names it).
fn pod_for_replica_set(app: &App, restricted: bool) -> Json {
    let rs_name = app.rs_name();
    let mut volumes = Vec::new();
    let mut mounts = Vec::new();
    if app.has_config {
        volumes.push(obj! { "name": "config", "configMap": obj! { "name": app.config_name(), "defaultMode": 420_u32 } });
        mounts.push(obj! { "name": "config", "readOnly": true, "mountPath": "/etc/app" });
    }
    if app.has_secret {
        volumes.push(obj! { "name": "credentials", "secret": obj! { "secretName": app.secret_name(), "defaultMode": 420_u32 } });
        mounts.push(
            obj! { "name": "credentials", "readOnly": true, "mountPath": "/var/run/secrets/app" },
        );
    }
    let security = if restricted {
        obj! {
            "capabilities": obj! { "drop": arr!["ALL"] },
            "runAsNonRoot": true,
            "readOnlyRootFilesystem": true,
            "allowPrivilegeEscalation": false,
        }
    } else {
        obj! { "allowPrivilegeEscalation": false }
    };
    let container = obj! {
        "name": "app",
        "image": app.image(),
        "ports": arr![obj! { "name": "http", "containerPort": u32::from(app.port), "protocol": "TCP" }],
        "resources": obj! {
            "limits": obj! { "memory": "512Mi" },
            "requests": obj! { "cpu": "100m", "memory": "256Mi" },
        },
        "volumeMounts": Json::Arr(mounts),
        "livenessProbe": obj! {
            "httpGet": obj! { "path": "/healthz", "port": "http", "scheme": "HTTP" },
            "timeoutSeconds": 1_u32, "periodSeconds": 10_u32, "successThreshold": 1_u32, "failureThreshold": 3_u32,
        },
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "imagePullPolicy": "IfNotPresent",
        "securityContext": security,
    };
    let pod_security = if restricted {
        obj! { "runAsNonRoot": true, "seccompProfile": obj! { "type": "RuntimeDefault" } }
    } else {
        obj! {}
    };
    obj! {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": obj! {
            "generateName": format!("{rs_name}-"),
            "namespace": &app.namespace,
            "creationTimestamp": Json::Null,
            "labels": obj! { "app.kubernetes.io/name": &app.name, "pod-template-hash": &app.rs_hash },
            "ownerReferences": arr![obj! {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": rs_name,
                "uid": &app.rs_uid,
                "controller": true,
                "blockOwnerDeletion": true,
            }],
        },
        "spec": obj! {
            "volumes": Json::Arr(volumes),
            "containers": arr![container],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30_u32,
            "dnsPolicy": "ClusterFirst",
            "serviceAccountName": &app.name,
            "serviceAccount": &app.name,
            "securityContext": pod_security,
            "schedulerName": "default-scheduler",
            "enableServiceLinks": true,
            "preemptionPolicy": "PreemptLowerPriority",
        },
        "status": obj! {},
    }
}
