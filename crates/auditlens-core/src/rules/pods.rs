//! Pod specs that reach for the host: privileged containers, host namespaces, host paths,
//! added capabilities, and pods placed where they can borrow power (kube-system, controller
//! service accounts, ephemeral debug containers).
//!
//! The spec is read from the request body of a pod create, and of a workload create or change
//! (Deployment, DaemonSet, StatefulSet, ReplicaSet, Job, CronJob): a workload's template names
//! the person who asked for the pod, while the pod itself is created by a controller. Trusted
//! images ([`super::RuleConfig`]) are left out container by container.

use super::bodies::{Container, PodSpec};
use super::context::{Ctx, WORKLOADS};
use super::{meta, EventRule, RuleKind::Security};
use crate::model::Level::{Metadata, Request};
use crate::report::Severity::{High, Low, Medium};

const PODS_AND_WORKLOADS: &[&str] = &[
    "pods",
    "deployments",
    "daemonsets",
    "statefulsets",
    "replicasets",
    "replicationcontrollers",
    "jobs",
    "cronjobs",
];

const FAMILY: &str = "pods";

pub static RULES: &[EventRule] = &[
    EventRule {
        meta: meta(
            "k8s.pod.privileged",
            "Privileged container",
            "A pod or workload asks for a privileged container (any container, init or \
             ephemeral, also one added to a running pod by kubectl debug): root on the node, \
             with every device and capability.",
            FAMILY,
            Security,
            High,
            &["T1611", "T1610"],
            Request,
        ),
        resources: PODS_AND_WORKLOADS,
        check: privileged,
    },
    EventRule {
        meta: meta(
            "k8s.pod.sensitive_mount",
            "Sensitive host path mounted",
            "A pod or workload mounts a sensitive directory or socket of the node (/, /etc, \
             /proc, /root, the container runtime socket, kubelet or Kubernetes configuration).",
            FAMILY,
            Security,
            High,
            &["T1611", "T1610"],
            Request,
        ),
        resources: PODS_AND_WORKLOADS,
        check: sensitive_mount,
    },
    EventRule {
        meta: meta(
            "k8s.pod.hostpath",
            "Host path mounted",
            "A pod or workload mounts a directory of the node (hostPath) that is not on the \
             sensitive list; writable host paths are a common way out of a container.",
            FAMILY,
            Security,
            Low,
            &["T1611"],
            Request,
        ),
        resources: PODS_AND_WORKLOADS,
        check: hostpath,
    },
    EventRule {
        meta: meta(
            "k8s.pod.host_network",
            "Host network",
            "A pod or workload shares the node's network namespace (hostNetwork): it can \
             sniff and reach node-local services.",
            FAMILY,
            Security,
            Medium,
            &["T1611", "T1610"],
            Request,
        ),
        resources: PODS_AND_WORKLOADS,
        check: host_network,
    },
    EventRule {
        meta: meta(
            "k8s.pod.host_pid",
            "Host PID namespace",
            "A pod or workload shares the node's process namespace (hostPID): it sees and can \
             signal or trace every process on the node.",
            FAMILY,
            Security,
            High,
            &["T1611", "T1610"],
            Request,
        ),
        resources: PODS_AND_WORKLOADS,
        check: host_pid,
    },
    EventRule {
        meta: meta(
            "k8s.pod.host_ipc",
            "Host IPC namespace",
            "A pod or workload shares the node's IPC namespace (hostIPC): shared memory of \
             every process on the node.",
            FAMILY,
            Security,
            Medium,
            &["T1611", "T1610"],
            Request,
        ),
        resources: PODS_AND_WORKLOADS,
        check: host_ipc,
    },
    EventRule {
        meta: meta(
            "k8s.pod.capabilities",
            "Dangerous Linux capabilities added",
            "A container (regular, init, or ephemeral, also one added to a running pod) adds a \
             capability used in container escapes (SYS_ADMIN, SYS_PTRACE, SYS_MODULE, \
             NET_ADMIN, BPF, DAC_READ_SEARCH, SYS_RAWIO, SYS_BOOT, SYSLOG, ALL).",
            FAMILY,
            Security,
            Medium,
            &["T1611", "T1610"],
            Request,
        ),
        resources: PODS_AND_WORKLOADS,
        check: capabilities,
    },
    EventRule {
        meta: meta(
            "k8s.pod.run_as_root",
            "Container runs as root",
            "A pod or workload runs a container as root on purpose: runAsUser 0, or \
             runAsNonRoot false without another user, set on the container or the pod (any \
             container, init or ephemeral). Root in a container is one kernel bug or mount away \
             from root on the node.",
            FAMILY,
            Security,
            Medium,
            &["T1610", "T1611"],
            Request,
        ),
        resources: PODS_AND_WORKLOADS,
        check: run_as_root,
    },
    EventRule {
        meta: meta(
            "k8s.workload.kube_namespace",
            "Workload created in a system namespace",
            "A pod, Deployment or DaemonSet is created in a namespace the control plane keeps \
             (kube-system, kube-public, kube-node-lease, GKE's gke-system, gke-managed-* and \
             gmp-*), where user workloads do not belong and a backdoor can pass for a system \
             component.",
            FAMILY,
            Security,
            Medium,
            &["T1610", "T1036.005"],
            Metadata,
        ),
        resources: &["pods", "deployments", "daemonsets"],
        check: kube_namespace,
    },
    EventRule {
        meta: meta(
            "k8s.pod.ephemeral_container",
            "Ephemeral container added",
            "An ephemeral container is added to a running pod (kubectl debug): a new image and \
             shell inside the pod's namespaces, with its mounted secrets.",
            FAMILY,
            Security,
            Medium,
            &["T1609", "T1611"],
            Metadata,
        ),
        resources: &["pods"],
        check: ephemeral_container,
    },
    EventRule {
        meta: meta(
            "k8s.pod.debug_image",
            "Pod from a general-purpose or debug image",
            "A pod runs a small base or network-debugging image (busybox, alpine, ubuntu, \
             debian, netshoot, network-multitool, curl, Kali): the usual throw-away attack pod.",
            FAMILY,
            Security,
            Low,
            &["T1610"],
            Request,
        ),
        resources: &["pods"],
        check: debug_image,
    },
    EventRule {
        meta: meta(
            "k8s.pod.controller_serviceaccount",
            "Controller service account assigned to a pod",
            "A pod or workload in kube-system runs as a controller's service account \
             (name ending in `controller`): those tokens are admin-equivalent.",
            FAMILY,
            Security,
            High,
            &["T1078", "T1610"],
            Request,
        ),
        resources: PODS_AND_WORKLOADS,
        check: controller_serviceaccount,
    },
    EventRule {
        meta: meta(
            "k8s.pod.security_context_escalated",
            "Running pod changed to privileged or root",
            "An update or patch of a pod asks for a privileged container, privilege \
             escalation, or user or group 0.",
            FAMILY,
            Security,
            Medium,
            &["T1611"],
            Request,
        ),
        resources: &["pods"],
        check: security_context_escalated,
    },
    EventRule {
        meta: meta(
            "k8s.workload.containers_patched",
            "Containers patched into a workload",
            "A patch adds or changes containers of a Deployment, DaemonSet or StatefulSet: how \
             a sidecar is slipped into a running workload.",
            FAMILY,
            Security,
            Low,
            &["T1609", "T1610"],
            Request,
        ),
        resources: &["deployments", "daemonsets", "statefulsets"],
        check: containers_patched,
    },
];

/// Host paths whose mount hands over the node.
const SENSITIVE_PATHS: &[&str] = &[
    "/",
    "/proc",
    "/root",
    "/home/admin",
    "/etc",
    "/etc/kubernetes",
    "/etc/kubernetes/manifests",
    "/etc/kubernetes/pki",
    "/var",
    "/var/run",
    "/run",
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/var/run/crio/crio.sock",
    "/run/crio/crio.sock",
    "/var/run/containerd/containerd.sock",
    "/run/containerd/containerd.sock",
    "/var/run/cri-dockerd.sock",
    "/var/lib/kubelet",
    "/var/lib/kubelet/pki",
    "/var/lib/docker",
    "/var/lib/docker/overlay2",
    "/dev",
    "/sys",
    "/boot",
];

/// Everything under these is sensitive too.
const SENSITIVE_PREFIXES: &[&str] = &[
    "/proc/",
    "/root/",
    "/etc/kubernetes/",
    "/var/lib/kubelet/pki/",
    "/sys/kernel/",
];

fn is_sensitive_path(path: &str) -> bool {
    let trimmed = path.trim_end_matches('/');
    let path = if trimmed.is_empty() { "/" } else { trimmed };
    SENSITIVE_PATHS.contains(&path) || SENSITIVE_PREFIXES.iter().any(|p| path.starts_with(p))
}

/// The spec a pod rule judges: a pod create, or a workload create or change.
fn judged_spec<'c>(ctx: &'c Ctx<'_>) -> Option<&'c PodSpec> {
    if !ctx.on_object() {
        return None;
    }
    let judged = if ctx.resource == "pods" {
        ctx.creates()
    } else {
        WORKLOADS.contains(&ctx.resource) && ctx.writes()
    };
    if judged {
        ctx.pod_spec()
    } else {
        None
    }
}

/// The containers a per-container rule judges: every container of [`judged_spec`], or the
/// ephemeral containers a write of `pods/ephemeralcontainers` adds to a running pod (`kubectl
/// debug`; in the pod's spec, or at the top of the old `EphemeralContainers` object).
fn judged_containers<'c>(ctx: &'c Ctx<'_>) -> Vec<&'c Container> {
    if let Some(spec) = judged_spec(ctx) {
        return spec.all_containers().collect();
    }
    if ctx.resource != "pods" || ctx.subresource != "ephemeralcontainers" || !ctx.writes() {
        return Vec::new();
    }
    let in_spec = ctx
        .pod_spec()
        .and_then(|s| s.ephemeral_containers.as_deref())
        .unwrap_or(&[]);
    in_spec.iter().chain(ctx.top_level_ephemeral()).collect()
}

/// `created`, `patched`, ... with the outcome when the request was refused.
fn did(ctx: &Ctx<'_>) -> String {
    let verb = match ctx.verb {
        "create" => "created",
        "update" => "updated",
        "patch" => "patched",
        other => other,
    };
    if ctx.failed() {
        format!("tried to {} (refused, {})", ctx.verb, ctx.code())
    } else {
        verb.to_string()
    }
}

fn subject(ctx: &Ctx<'_>) -> String {
    format!(
        "{} {} {} {}",
        ctx.user,
        did(ctx),
        ctx.carrier(),
        ctx.object()
    )
}

fn containers_label(containers: &[&Container]) -> String {
    containers
        .iter()
        .map(|c| format!("{} ({})", c.name(), c.image()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Containers of the spec whose images are not trusted for the current rule.
fn untrusted<'s>(ctx: &Ctx<'_>, spec: &'s PodSpec) -> Vec<&'s Container> {
    spec.all_containers()
        .filter(|c| !ctx.image_trusted(c.image()))
        .collect()
}

fn privileged(ctx: &Ctx<'_>) -> Option<String> {
    let found: Vec<&Container> = judged_containers(ctx)
        .into_iter()
        .filter(|c| {
            c.security_context
                .as_ref()
                .and_then(|s| s.privileged)
                .unwrap_or(false)
        })
        .filter(|c| !ctx.image_trusted(c.image()))
        .collect();
    (!found.is_empty()).then(|| {
        format!(
            "{} with privileged container {}",
            subject(ctx),
            containers_label(&found)
        )
    })
}

/// Host-path volumes whose path `sensitive` selects, each with the untrusted containers that
/// mount it (all untrusted containers when none names it).
fn host_mounts(ctx: &Ctx<'_>, sensitive: bool) -> Option<String> {
    let spec = judged_spec(ctx)?;
    let mut found = Vec::new();
    for volume in spec.volumes.iter().flatten() {
        let Some(path) = volume.host_path.as_ref().and_then(|h| h.path.as_deref()) else {
            continue;
        };
        if is_sensitive_path(path) != sensitive {
            continue;
        }
        let name = volume.name.as_deref().unwrap_or("");
        let candidates = untrusted(ctx, spec);
        let mounting: Vec<&Container> = candidates
            .iter()
            .copied()
            .filter(|c| c.mounts(name))
            .collect();
        let users = if mounting.is_empty() && !spec.all_containers().any(|c| c.mounts(name)) {
            candidates
        } else {
            mounting
        };
        if !users.is_empty() {
            found.push(format!(
                "{path} (volume {name}, container {})",
                containers_label(&users)
            ));
        }
    }
    (!found.is_empty()).then(|| {
        let what = if sensitive {
            "sensitive host path"
        } else {
            "host path"
        };
        format!("{} mounting {what} {}", subject(ctx), found.join("; "))
    })
}

fn sensitive_mount(ctx: &Ctx<'_>) -> Option<String> {
    host_mounts(ctx, true)
}

fn hostpath(ctx: &Ctx<'_>) -> Option<String> {
    host_mounts(ctx, false)
}

/// A pod-level setting: reported unless every container is trusted.
fn pod_level(ctx: &Ctx<'_>, set: fn(&PodSpec) -> Option<bool>, what: &str) -> Option<String> {
    let spec = judged_spec(ctx)?;
    if !set(spec).unwrap_or(false) {
        return None;
    }
    let containers = untrusted(ctx, spec);
    let all_trusted = containers.is_empty() && spec.all_containers().next().is_some();
    (!all_trusted).then(|| {
        format!(
            "{} with {what} (containers {})",
            subject(ctx),
            containers_label(&containers)
        )
    })
}

fn host_network(ctx: &Ctx<'_>) -> Option<String> {
    pod_level(ctx, |s| s.host_network, "hostNetwork: true")
}

fn host_pid(ctx: &Ctx<'_>) -> Option<String> {
    pod_level(ctx, |s| s.host_pid, "hostPID: true")
}

fn host_ipc(ctx: &Ctx<'_>) -> Option<String> {
    pod_level(ctx, |s| s.host_ipc, "hostIPC: true")
}

const DANGEROUS_CAPABILITIES: &[&str] = &[
    "ALL",
    "BPF",
    "DAC_READ_SEARCH",
    "NET_ADMIN",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_MODULE",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYSLOG",
];

fn capabilities(ctx: &Ctx<'_>) -> Option<String> {
    let mut found = Vec::new();
    for container in judged_containers(ctx) {
        let added = container
            .security_context
            .as_ref()
            .and_then(|s| s.capabilities.as_ref())
            .and_then(|c| c.add.as_ref());
        let dangerous: Vec<String> = added
            .into_iter()
            .flatten()
            .map(|c| c.trim().to_ascii_uppercase())
            .map(|c| c.strip_prefix("CAP_").map(str::to_string).unwrap_or(c))
            .filter(|c| DANGEROUS_CAPABILITIES.contains(&c.as_str()))
            .collect();
        if !dangerous.is_empty() && !ctx.image_trusted(container.image()) {
            found.push(format!(
                "{} ({}) adds {}",
                container.name(),
                container.image(),
                dangerous.join(", ")
            ));
        }
    }
    (!found.is_empty()).then(|| format!("{}: {}", subject(ctx), found.join("; ")))
}

/// Containers that run as root by their own or the pod's security context. A pod a controller
/// creates is left out: its template was judged when a person created the workload.
fn run_as_root(ctx: &Ctx<'_>) -> Option<String> {
    if ctx.resource == "pods" && ctx.control_plane() {
        return None;
    }
    let pod = judged_spec(ctx).and_then(|s| s.security_context.as_ref());
    let pod_user = pod.and_then(|s| s.run_as_user);
    let pod_non_root = pod.and_then(|s| s.run_as_non_root);
    let mut found = Vec::new();
    for c in judged_containers(ctx) {
        if ctx.image_trusted(c.image()) {
            continue;
        }
        let own = c.security_context.as_ref();
        let user = own.and_then(|s| s.run_as_user).or(pod_user);
        let non_root = own.and_then(|s| s.run_as_non_root).or(pod_non_root);
        let why = match (user, non_root) {
            (Some(0), _) => "runAsUser 0",
            (None, Some(false)) => "runAsNonRoot false",
            _ => continue,
        };
        found.push(format!("{} ({}): {why}", c.name(), c.image()));
    }
    (!found.is_empty()).then(|| format!("{} running as root: {}", subject(ctx), found.join("; ")))
}

fn kube_namespace(ctx: &Ctx<'_>) -> Option<String> {
    if !(ctx.creates() && ctx.on_object()) {
        return None;
    }
    if !ctx.in_system_namespace() {
        return None;
    }
    match ctx.pod_spec() {
        Some(spec) => {
            let containers = untrusted(ctx, spec);
            if containers.is_empty() && spec.all_containers().next().is_some() {
                return None;
            }
            Some(format!(
                "{} in {} (containers {})",
                subject(ctx),
                ctx.namespace,
                containers_label(&containers)
            ))
        }
        None => Some(format!("{} in {}", subject(ctx), ctx.namespace)),
    }
}

fn ephemeral_container(ctx: &Ctx<'_>) -> Option<String> {
    if ctx.subresource != "ephemeralcontainers" || !ctx.verb_in(&["create", "update", "patch"]) {
        return None;
    }
    if ctx.control_plane() || ctx.node() {
        return None;
    }
    let from_spec = ctx
        .pod_spec()
        .and_then(|s| s.ephemeral_containers.as_ref())
        .map(|c| c.iter().collect::<Vec<_>>());
    let containers: Vec<&Container> =
        from_spec.unwrap_or_else(|| ctx.top_level_ephemeral().iter().collect());
    let added = if containers.is_empty() {
        String::new()
    } else {
        format!(": {}", containers_label(&containers))
    };
    Some(format!(
        "{} {} an ephemeral container in pod {}{added}",
        ctx.user,
        if ctx.failed() {
            "tried to add"
        } else {
            "added"
        },
        ctx.object()
    ))
}

const DEBUG_IMAGES: &[&str] = &[
    "busybox",
    "alpine",
    "ubuntu",
    "debian",
    "netshoot",
    "network-multitool",
    "curl",
    "kali-rolling",
    "kali-linux-docker",
];

fn debug_image(ctx: &Ctx<'_>) -> Option<String> {
    if !ctx.allowed() {
        return None;
    }
    let spec = judged_spec(ctx)?;
    let found: Vec<&Container> = spec
        .all_containers()
        .filter(|c| {
            let repository = super::config::image_repository(c.image());
            let last = repository.rsplit('/').next().unwrap_or(repository);
            DEBUG_IMAGES.contains(&last) || repository.starts_with("kalilinux/")
        })
        .filter(|c| !ctx.image_trusted(c.image()))
        .collect();
    (!found.is_empty()).then(|| {
        format!(
            "{} running debug or base image {}",
            subject(ctx),
            containers_label(&found)
        )
    })
}

fn controller_serviceaccount(ctx: &Ctx<'_>) -> Option<String> {
    if ctx.namespace != "kube-system" {
        return None;
    }
    let spec = judged_spec(ctx)?;
    let account = spec.service_account_name.as_deref()?;
    if !account.ends_with("controller") {
        return None;
    }
    let containers = untrusted(ctx, spec);
    if containers.is_empty() && spec.all_containers().next().is_some() {
        return None;
    }
    Some(format!(
        "{} running as service account kube-system/{account} (containers {})",
        subject(ctx),
        containers_label(&containers)
    ))
}

fn security_context_escalated(ctx: &Ctx<'_>) -> Option<String> {
    if !(ctx.verb_in(&["update", "patch"]) && ctx.on_object()) {
        return None;
    }
    let spec = ctx.pod_spec()?;
    let mut found = Vec::new();
    if spec
        .security_context
        .as_ref()
        .is_some_and(|s| s.run_as_user == Some(0) || s.run_as_group == Some(0))
    {
        found.push("pod runs as user or group 0".to_string());
    }
    for c in spec.all_containers() {
        let Some(s) = c.security_context.as_ref() else {
            continue;
        };
        let mut asks = Vec::new();
        if s.privileged == Some(true) {
            asks.push("privileged");
        }
        if s.allow_privilege_escalation == Some(true) {
            asks.push("allowPrivilegeEscalation");
        }
        if s.run_as_user == Some(0) {
            asks.push("runAsUser 0");
        }
        if s.run_as_group == Some(0) {
            asks.push("runAsGroup 0");
        }
        if !asks.is_empty() && !ctx.image_trusted(c.image()) {
            found.push(format!("{} ({}): {}", c.name(), c.image(), asks.join(", ")));
        }
    }
    (!found.is_empty()).then(|| format!("{}: {}", subject(ctx), found.join("; ")))
}

fn containers_patched(ctx: &Ctx<'_>) -> Option<String> {
    if ctx.verb != "patch" || !ctx.on_object() || !ctx.allowed() || ctx.control_plane() {
        return None;
    }
    let spec = ctx.pod_spec()?;
    let containers: Vec<&Container> = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter())
        .flatten()
        .filter(|c| c.image.is_some())
        .collect();
    (!containers.is_empty()).then(|| {
        format!(
            "{} patched {} {} setting containers {}",
            ctx.user,
            ctx.carrier(),
            ctx.object(),
            containers_label(&containers)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_paths_are_exact_or_below_a_sensitive_root() {
        assert!(is_sensitive_path("/etc"));
        assert!(is_sensitive_path("/etc/"));
        assert!(is_sensitive_path("/"));
        assert!(is_sensitive_path("/proc/1/root"));
        assert!(is_sensitive_path("/etc/kubernetes/admin.conf"));
        assert!(!is_sensitive_path("/etc/ssl/certs"));
        assert!(!is_sensitive_path("/var/log"));
        assert!(!is_sensitive_path("/data"));
    }
}
