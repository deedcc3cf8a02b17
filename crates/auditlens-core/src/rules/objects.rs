//! Objects that hold or steer something valuable: secrets (read, listed, minted), ConfigMaps
//! that hold credentials or steer DNS and authentication, Services opened on every node,
//! Ingresses without TLS, admission webhooks, deleted events and scheduled Jobs.

use super::bodies::{ConfigMap, Ingress, Secret, Service};
use super::context::Ctx;
use super::{meta, EventRule, RuleKind::Security};
use crate::model::Level::{Metadata, Request};
use crate::report::Severity::{High, Low, Medium};

const FAMILY: &str = "objects";

pub static RULES: &[EventRule] = &[
    EventRule {
        meta: meta(
            "k8s.configmap.credentials",
            "ConfigMap holding credentials",
            "A ConfigMap is created or changed with data that looks like a credential (AWS \
             access keys, passwords, passphrases, private keys): secrets kept where every \
             reader of ConfigMaps sees them.",
            FAMILY,
            Security,
            Medium,
            &["T1552"],
            Request,
        ),
        resources: &["configmaps"],
        check: configmap_credentials,
    },
    EventRule {
        meta: meta(
            "k8s.configmap.coredns",
            "Cluster DNS configuration changed",
            "The CoreDNS or kube-dns ConfigMap in kube-system is changed or deleted by someone \
             other than DNS itself or a node: every pod's name resolution can be redirected.",
            FAMILY,
            Security,
            High,
            &["T1565.001", "T1557"],
            Metadata,
        ),
        resources: &["configmaps"],
        check: coredns,
    },
    EventRule {
        meta: meta(
            "k8s.configmap.auth",
            "Access-control ConfigMap changed",
            "A ConfigMap that maps outside identities to cluster rights (EKS aws-auth, \
             ArgoCD's argocd-cm and argocd-rbac-cm) or configures kube-proxy is changed.",
            FAMILY,
            Security,
            High,
            &["T1098"],
            Metadata,
        ),
        resources: &["configmaps"],
        check: auth_configmap,
    },
    EventRule {
        meta: meta(
            "k8s.secret.read",
            "Secret read",
            "A Secret is read (get) by someone other than the control plane.",
            FAMILY,
            Security,
            Low,
            &["T1552.007"],
            Metadata,
        ),
        resources: &["secrets"],
        check: secret_read,
    },
    EventRule {
        meta: meta(
            "k8s.secret.read_failed",
            "Secret read failed",
            "A read of a Secret is refused or fails: probing for secrets the identity may not \
             see.",
            FAMILY,
            Security,
            Medium,
            &["T1552.007"],
            Metadata,
        ),
        resources: &["secrets"],
        check: secret_read_failed,
    },
    EventRule {
        meta: meta(
            "k8s.secret.list",
            "Secrets listed",
            "Every Secret of a namespace is listed, or watched by a person (cluster-wide reads \
             and kube-system or default are reported by k8s.secret.list_sensitive).",
            FAMILY,
            Security,
            Low,
            &["T1552.007", "T1613"],
            Metadata,
        ),
        resources: &["secrets"],
        check: secret_list,
    },
    EventRule {
        meta: meta(
            "k8s.secret.list_sensitive",
            "Secrets listed cluster-wide or in kube-system",
            "Secrets are listed, or watched by a person, across all namespaces or in \
             kube-system or default, from a client that is not on the API server itself.",
            FAMILY,
            Security,
            Medium,
            &["T1552.007", "T1613"],
            Metadata,
        ),
        resources: &["secrets"],
        check: secret_list_sensitive,
    },
    EventRule {
        meta: meta(
            "k8s.secret.scripted_client",
            "Secret read by a script or generic HTTP client",
            "A Secret is read with a scripting or bare HTTP client (curl, wget, python, \
             Go-http-client, ...) or from a Kali image, not kubectl or a controller.",
            FAMILY,
            Security,
            High,
            &["T1552.007"],
            Metadata,
        ),
        resources: &["secrets"],
        check: secret_scripted_client,
    },
    EventRule {
        meta: meta(
            "k8s.secret.sa_token_created",
            "Long-lived service account token created",
            "A Secret of type kubernetes.io/service-account-token is created by someone other \
             than the control plane: a token that never expires.",
            FAMILY,
            Security,
            Medium,
            &["T1528"],
            Request,
        ),
        resources: &["secrets"],
        check: sa_token_secret,
    },
    EventRule {
        meta: meta(
            "k8s.secret.arc_proxy",
            "Secrets or ConfigMaps used through the Azure Arc proxy",
            "Secrets or ConfigMaps of an application namespace are read or changed through \
             Azure Arc Cluster Connect, where the audit log shows the proxy's service \
             account and the real caller as the impersonated user.",
            FAMILY,
            Security,
            Medium,
            &["T1552.007"],
            Metadata,
        ),
        resources: &["secrets", "configmaps"],
        check: arc_proxy,
    },
    EventRule {
        meta: meta(
            "k8s.service.nodeport",
            "NodePort service",
            "A Service of type NodePort is created or changed: the port opens on every node, \
             around load balancers and firewalls.",
            FAMILY,
            Security,
            Medium,
            &["T1133"],
            Request,
        ),
        resources: &["services"],
        check: nodeport,
    },
    EventRule {
        meta: meta(
            "k8s.ingress.no_tls",
            "Ingress without TLS",
            "An Ingress is created without a TLS section: its traffic crosses the network in \
             clear text.",
            FAMILY,
            Security,
            Low,
            &["T1133"],
            Request,
        ),
        resources: &["ingresses"],
        check: ingress_without_tls,
    },
    EventRule {
        meta: meta(
            "k8s.admission.webhook_changed",
            "Admission webhook or policy changed",
            "A mutating or validating webhook configuration (or admission policy) is created, \
             changed or deleted by someone other than the control plane: every matching \
             request can be rewritten, copied out or let through.",
            FAMILY,
            Security,
            Medium,
            &["T1546", "T1562"],
            Metadata,
        ),
        resources: &[
            "mutatingwebhookconfigurations",
            "validatingwebhookconfigurations",
            "validatingadmissionpolicies",
            "validatingadmissionpolicybindings",
            "mutatingadmissionpolicies",
            "mutatingadmissionpolicybindings",
        ],
        check: webhook_changed,
    },
    EventRule {
        meta: meta(
            "k8s.events.deleted",
            "Events deleted",
            "Kubernetes events are deleted by someone other than the control plane: traces \
             wiped before they expire.",
            FAMILY,
            Security,
            Medium,
            &["T1070"],
            Metadata,
        ),
        resources: &["events"],
        check: events_deleted,
    },
    EventRule {
        meta: meta(
            "k8s.workload.job_changed",
            "Job or CronJob created or changed",
            "A Job or CronJob is created, changed or deleted by someone other than the control \
             plane: scheduled code is a way to stay.",
            FAMILY,
            Security,
            Low,
            &["T1053.007"],
            Metadata,
        ),
        resources: &["jobs", "cronjobs"],
        check: job_changed,
    },
];

fn did(ctx: &Ctx<'_>) -> String {
    let done = match ctx.verb {
        "create" => "created",
        "update" => "updated",
        "patch" => "patched",
        "delete" => "deleted",
        "deletecollection" => "deleted all",
        "get" => "read",
        "list" => "listed",
        "watch" => "watched",
        other => other,
    };
    if ctx.failed() {
        format!("tried to {} (refused or failed, {})", ctx.verb, ctx.code())
    } else {
        done.to_string()
    }
}

/// Words that mark a credential, compared after lower-casing and `-` to `_`.
const CREDENTIAL_WORDS: &[&str] = &[
    "aws_access_key_id",
    "aws_s3_access_key_id",
    "aws_secret_access_key",
    "password",
    "passphrase",
    "client_secret",
    "private key_____",
];

pub(crate) fn credential_word(text: &str) -> Option<&'static str> {
    let normal = text.to_ascii_lowercase().replace('-', "_");
    CREDENTIAL_WORDS
        .iter()
        .copied()
        .find(|w| normal.contains(w))
}

fn configmap_credentials(ctx: &Ctx<'_>) -> Option<String> {
    if !ctx.writes() || !ctx.on_object() {
        return None;
    }
    let map: ConfigMap = ctx.request()?;
    let mut found = Vec::new();
    for (key, value) in map.data.iter().flatten() {
        let word = credential_word(key).or_else(|| value.as_deref().and_then(credential_word));
        if let Some(word) = word {
            found.push(format!("{key} ({})", word.trim_end_matches('_')));
        }
    }
    for key in map.binary_data.iter().flat_map(|b| b.keys()) {
        if let Some(word) = credential_word(key) {
            found.push(format!("{key} ({word})"));
        }
    }
    (!found.is_empty()).then(|| {
        format!(
            "{} {} configmap {} holding credentials in {}",
            ctx.user,
            did(ctx),
            ctx.object(),
            found.join(", ")
        )
    })
}

fn coredns(ctx: &Ctx<'_>) -> Option<String> {
    if ctx.namespace != "kube-system"
        || !matches!(ctx.name, "coredns" | "kube-dns" | "coredns-custom")
        || !ctx.verb_in(&["update", "patch", "delete"])
        || !ctx.allowed()
    {
        return None;
    }
    if matches!(
        ctx.user,
        "system:serviceaccount:kube-system:coredns" | "system:serviceaccount:kube-system:kube-dns"
    ) || ctx.node()
        || ctx.user.starts_with("eks:")
        || matches!(ctx.user, "aksService" | "acsService")
    {
        return None;
    }
    Some(format!(
        "{} {} the cluster DNS configuration {}",
        ctx.user,
        did(ctx),
        ctx.object()
    ))
}

fn auth_configmap(ctx: &Ctx<'_>) -> Option<String> {
    let watched = matches!(
        (ctx.namespace, ctx.name),
        ("kube-system", "aws-auth" | "kube-proxy") | (_, "argocd-cm" | "argocd-rbac-cm")
    );
    if !watched || !ctx.verb_in(&["update", "patch", "delete"]) || !ctx.allowed() {
        return None;
    }
    if ctx.user.starts_with("eks:") {
        return None;
    }
    Some(format!(
        "{} {} access-control configmap {}",
        ctx.user,
        did(ctx),
        ctx.object()
    ))
}

fn secret_read(ctx: &Ctx<'_>) -> Option<String> {
    if ctx.verb != "get" || !ctx.on_object() || !ctx.not_refused() || ctx.control_plane() {
        return None;
    }
    Some(format!("{} read secret {}", ctx.user, ctx.object()))
}

fn secret_read_failed(ctx: &Ctx<'_>) -> Option<String> {
    if ctx.verb != "get" || !ctx.on_object() || !ctx.failed() {
        return None;
    }
    Some(format!(
        "{} could not read secret {} ({})",
        ctx.user,
        ctx.object(),
        ctx.code()
    ))
}

/// A list of secrets across the cluster or in kube-system or default.
fn sensitive_list(ctx: &Ctx<'_>) -> bool {
    matches!(ctx.namespace, "" | "kube-system" | "default")
}

/// A list or watch of secrets, every one of them at once (a watch streams each change too).
/// Watches by service accounts and nodes are left out: controllers and kubelets keep their
/// informers' watches open all day, and a stolen token shows in its new address or client.
fn lists_secrets(ctx: &Ctx<'_>) -> bool {
    let watch_by_workload = ctx.verb == "watch" && (ctx.service_account() || ctx.node());
    ctx.verb_in(&["list", "watch"])
        && !watch_by_workload
        && ctx.on_object()
        && !ctx.control_plane()
        && ctx.allowed()
}

fn listed(ctx: &Ctx<'_>) -> &'static str {
    if ctx.verb == "watch" {
        "watched"
    } else {
        "listed"
    }
}

fn secret_list(ctx: &Ctx<'_>) -> Option<String> {
    if !lists_secrets(ctx) || sensitive_list(ctx) {
        return None;
    }
    Some(format!(
        "{} {} the secrets of namespace {}",
        ctx.user,
        listed(ctx),
        ctx.namespace
    ))
}

fn secret_list_sensitive(ctx: &Ctx<'_>) -> Option<String> {
    if !lists_secrets(ctx) || !sensitive_list(ctx) {
        return None;
    }
    if matches!(ctx.source_ip, "127.0.0.1" | "::1") {
        return None;
    }
    let scope = if ctx.namespace.is_empty() {
        "of every namespace".to_string()
    } else {
        format!("of namespace {}", ctx.namespace)
    };
    Some(format!(
        "{} {} the secrets {scope} from {}",
        ctx.user,
        listed(ctx),
        if ctx.source_ip.is_empty() {
            "an unknown address"
        } else {
            ctx.source_ip
        }
    ))
}

/// The scripting or bare HTTP client a user agent names.
pub fn scripted_client(user_agent: &str) -> Option<&'static str> {
    const CLIENTS: &[&str] = &[
        "curl",
        "wget",
        "python",
        "go-http-client",
        "perl",
        "java",
        "node",
        "php",
        "axios",
        "undici",
        "bun",
        "ruby",
        "okhttp",
    ];
    let agent = user_agent.trim().to_ascii_lowercase();
    if agent.contains("kali") {
        return Some("kali");
    }
    CLIENTS.iter().copied().find(|c| {
        agent
            .strip_prefix(c)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '-', ' ', '.']))
    })
}

fn secret_scripted_client(ctx: &Ctx<'_>) -> Option<String> {
    if !ctx.verb_in(&["get", "list"]) || !ctx.not_refused() {
        return None;
    }
    let client = scripted_client(ctx.user_agent)?;
    Some(format!(
        "{} {} {} with {client} (user agent {:?})",
        ctx.user,
        did(ctx),
        if ctx.verb == "get" {
            format!("secret {}", ctx.object())
        } else {
            "secrets".to_string()
        },
        ctx.user_agent
    ))
}

fn sa_token_secret(ctx: &Ctx<'_>) -> Option<String> {
    if !(ctx.creates() && ctx.on_object() && ctx.allowed()) || ctx.control_plane() {
        return None;
    }
    let secret: Secret = ctx.request()?;
    (secret.kind.as_deref() == Some("kubernetes.io/service-account-token")).then(|| {
        format!(
            "{} {} long-lived service account token secret {}",
            ctx.user,
            did(ctx),
            ctx.object()
        )
    })
}

fn arc_proxy(ctx: &Ctx<'_>) -> Option<String> {
    if !ctx.user.starts_with("system:serviceaccount:azure-arc:") {
        return None;
    }
    if !ctx.verb_in(&["get", "list", "create", "update", "patch", "delete"])
        || matches!(
            ctx.namespace,
            "azure-arc" | "azure-arc-release" | "kube-system"
        )
        || ctx.name.starts_with("sh.helm.release.v1")
    {
        return None;
    }
    let caller = if ctx.impersonated.is_empty() {
        "an unnamed caller"
    } else {
        ctx.impersonated
    };
    Some(format!(
        "{caller} {} {} {} through the Azure Arc proxy ({})",
        did(ctx),
        ctx.resource,
        ctx.object(),
        ctx.user
    ))
}

fn nodeport(ctx: &Ctx<'_>) -> Option<String> {
    if !ctx.writes() || !ctx.on_object() {
        return None;
    }
    let service: Service = ctx.request()?;
    let spec = service.spec?;
    if spec.kind.as_deref() != Some("NodePort") {
        return None;
    }
    let ports: Vec<String> = spec
        .ports
        .iter()
        .flatten()
        .map(|p| match (p.node_port, p.port) {
            (Some(node), Some(port)) => format!("{node}->{port}"),
            (None, Some(port)) => format!("(any)->{port}"),
            (Some(node), None) => node.to_string(),
            (None, None) => "?".to_string(),
        })
        .collect();
    Some(format!(
        "{} {} NodePort service {} (ports {})",
        ctx.user,
        did(ctx),
        ctx.object(),
        ports.join(", ")
    ))
}

fn ingress_without_tls(ctx: &Ctx<'_>) -> Option<String> {
    if !(ctx.creates() && ctx.on_object() && ctx.not_refused()) {
        return None;
    }
    let ingress: Ingress = ctx.request()?;
    let tls = ingress
        .spec
        .as_ref()
        .and_then(|s| s.tls.as_ref())
        .is_some_and(|t| !t.is_empty());
    (!tls).then(|| format!("{} created ingress {} without TLS", ctx.user, ctx.object()))
}

fn webhook_changed(ctx: &Ctx<'_>) -> Option<String> {
    if !(ctx.writes() || ctx.deletes()) || !ctx.allowed() || ctx.control_plane() {
        return None;
    }
    let name = ctx.object_name();
    if name.starts_with("eks-")
        || name.starts_with("gke-")
        || matches!(
            name.as_str(),
            "pod-identity-webhook" | "vpc-resource-mutating-webhook"
        )
    {
        return None;
    }
    Some(format!(
        "{} {} {} {}",
        ctx.user,
        did(ctx),
        ctx.resource.trim_end_matches('s'),
        ctx.object()
    ))
}

fn events_deleted(ctx: &Ctx<'_>) -> Option<String> {
    if !ctx.deletes() || ctx.control_plane() || ctx.failed() {
        return None;
    }
    let what = if ctx.verb == "deletecollection" || ctx.name.is_empty() {
        format!(
            "the events of {}",
            if ctx.namespace.is_empty() {
                "every namespace".to_string()
            } else {
                format!("namespace {}", ctx.namespace)
            }
        )
    } else {
        format!("event {}", ctx.object())
    };
    Some(format!("{} deleted {what}", ctx.user))
}

fn job_changed(ctx: &Ctx<'_>) -> Option<String> {
    if !(ctx.writes() || ctx.deletes()) || !ctx.on_object() || !ctx.allowed() {
        return None;
    }
    if ctx.control_plane() {
        return None;
    }
    Some(format!(
        "{} {} {} {}",
        ctx.user,
        did(ctx),
        ctx.resource.trim_end_matches('s'),
        ctx.object()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_spotted_in_keys_and_values() {
        assert_eq!(
            credential_word("aws-s3-access-key-id = X"),
            Some("aws_s3_access_key_id")
        );
        assert_eq!(credential_word("DB_PASSWORD"), Some("password"));
        assert_eq!(
            credential_word("-----BEGIN RSA PRIVATE KEY-----"),
            Some("private key_____")
        );
        assert_eq!(credential_word("color.good=purple"), None);
    }

    #[test]
    fn scripted_clients_are_recognised_by_their_user_agent() {
        assert_eq!(scripted_client("curl/8.5.0"), Some("curl"));
        assert_eq!(scripted_client("python-requests/2.31"), Some("python"));
        assert_eq!(
            scripted_client("Go-http-client/1.1"),
            Some("go-http-client")
        );
        assert_eq!(scripted_client("kubectl/v1.29.2 (linux/amd64)"), None);
        assert_eq!(scripted_client("nodejs-client"), None);
        assert_eq!(scripted_client("node-fetch/1.0"), Some("node"));
    }
}
