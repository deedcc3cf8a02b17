//! Who acted: one canonical identity per actor, the class of that identity, and its peer group.
//!
//! The scorer keys every baseline by the authenticated username (the actor; an impersonated
//! user is kept beside it). From the name and groups alone this module says what kind of
//! principal it is ([`IdentityKind`]) and which peer group it belongs to ([`peer_group`]); the
//! class ([`IdentityClass`]) then comes from those hints weighed against behaviour measured in
//! the identity's profile ([`Behaviour`]: clients used, hours covered, regularity, volume), so a
//! user account driven by a pipeline is seen as automation even though its name says nothing.
//! The class picks the priors the scorer uses (a controller is judged sharply on a new source
//! address, a CI runner is not).

use serde::{Deserialize, Serialize};

/// What kind of principal a username names, from its form alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IdentityKind {
    User,
    ServiceAccount,
    Node,
    ControlPlane,
    Anonymous,
}

/// The identity class shown to people and used to pick priors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentityClass {
    Human,
    ServiceAccount,
    Node,
    ControlPlane,
    Anonymous,
    /// CI runners, deploy tools, GitOps controllers, scripts.
    Automation,
}

impl IdentityClass {
    pub const ALL: [IdentityClass; 6] = [
        IdentityClass::Human,
        IdentityClass::ServiceAccount,
        IdentityClass::Node,
        IdentityClass::ControlPlane,
        IdentityClass::Anonymous,
        IdentityClass::Automation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IdentityClass::Human => "human",
            IdentityClass::ServiceAccount => "service-account",
            IdentityClass::Node => "node",
            IdentityClass::ControlPlane => "control-plane",
            IdentityClass::Anonymous => "anonymous",
            IdentityClass::Automation => "automation",
        }
    }

    pub fn parse(text: &str) -> Option<IdentityClass> {
        IdentityClass::ALL.into_iter().find(|c| c.as_str() == text)
    }

    /// Index into per-class tables.
    pub fn index(self) -> usize {
        self as usize
    }
}

const SA_PREFIX: &str = "system:serviceaccount:";
const NODE_PREFIX: &str = "system:node:";
/// Bootstrap tokens, which new nodes use to ask for their credentials.
const BOOTSTRAP_PREFIX: &str = "system:bootstrap:";

/// Usernames of control-plane components (kubeadm, managed offerings and their defaults).
const CONTROL_PLANE_USERS: &[&str] = &[
    "system:kube-scheduler",
    "system:kube-controller-manager",
    "system:kube-proxy",
    "system:apiserver",
    "system:volume-scheduler",
    "system:kube-aggregator",
    "system:cloud-controller-manager",
    "kube-apiserver",
    "kube-apiserver-kubelet-client",
];

/// Client programs (the first user-agent token) of control-plane components.
const CONTROL_PLANE_CLIENTS: &[&str] = &[
    "kube-controller-manager",
    "kube-scheduler",
    "kube-apiserver",
    "cloud-controller-manager",
    "kube-proxy",
];

/// Clients a person drives by hand.
const INTERACTIVE_CLIENTS: &[&str] = &["kubectl", "k9s", "lens", "oc", "kubectl.exe", "Mozilla"];

/// Words in a name or client that point at pipelines and deploy tools.
const AUTOMATION_WORDS: &[&str] = &[
    "ci",
    "cd",
    "bot",
    "deploy",
    "deployer",
    "pipeline",
    "runner",
    "jenkins",
    "gitlab",
    "github",
    "argocd",
    "argo",
    "flux",
    "tekton",
    "spinnaker",
    "terraform",
    "helm",
    "automation",
    "robot",
];

/// The kind of principal `username` names.
pub fn kind_of(username: &str, groups: &[&str]) -> IdentityKind {
    if username == "system:anonymous" || groups.contains(&"system:unauthenticated") {
        return IdentityKind::Anonymous;
    }
    if username.starts_with(NODE_PREFIX)
        || groups.contains(&"system:nodes")
        || username.starts_with(BOOTSTRAP_PREFIX)
        || groups.contains(&"system:bootstrappers")
    {
        return IdentityKind::Node;
    }
    if CONTROL_PLANE_USERS.contains(&username) {
        return IdentityKind::ControlPlane;
    }
    if let Some((namespace, name)) = service_account(username) {
        // kube-controller-manager's per-controller credentials.
        if namespace == "kube-system"
            && (name.ends_with("-controller") || name == "generic-garbage-collector")
        {
            return IdentityKind::ControlPlane;
        }
        return IdentityKind::ServiceAccount;
    }
    IdentityKind::User
}

/// `(namespace, name)` of a service-account username.
pub fn service_account(username: &str) -> Option<(&str, &str)> {
    username.strip_prefix(SA_PREFIX)?.split_once(':')
}

/// The canonical form people read: `serviceaccount:ns/name`, `node:name`, `user:alice`,
/// `control-plane:system:kube-scheduler`, `anonymous`.
pub fn canonical(username: &str, kind: IdentityKind) -> String {
    match kind {
        IdentityKind::Anonymous => "anonymous".to_string(),
        IdentityKind::Node => match username.strip_prefix(NODE_PREFIX) {
            Some(node) => format!("node:{node}"),
            None => match username.strip_prefix(BOOTSTRAP_PREFIX) {
                Some(token) => format!("bootstrap-token:{token}"),
                None => format!("node:{username}"),
            },
        },
        IdentityKind::ServiceAccount | IdentityKind::ControlPlane => {
            match service_account(username) {
                Some((ns, name)) if kind == IdentityKind::ServiceAccount => {
                    format!("serviceaccount:{ns}/{name}")
                }
                Some((ns, name)) => format!("control-plane:{ns}/{name}"),
                None => format!("control-plane:{username}"),
            }
        }
        IdentityKind::User => format!("user:{username}"),
    }
}

/// The peer group an identity is judged against when its own history is short: all nodes;
/// the service accounts of one namespace; the control plane; people by their first
/// non-system group.
pub fn peer_group(username: &str, kind: IdentityKind, groups: &[&str]) -> String {
    match kind {
        IdentityKind::Anonymous => "anonymous".to_string(),
        IdentityKind::Node => "nodes".to_string(),
        IdentityKind::ControlPlane => "control-plane".to_string(),
        IdentityKind::ServiceAccount => match service_account(username) {
            Some((ns, _)) => format!("serviceaccounts:{ns}"),
            None => "serviceaccounts".to_string(),
        },
        IdentityKind::User => groups
            .iter()
            .find(|g| !g.starts_with("system:"))
            .map_or_else(|| "users".to_string(), |g| format!("group:{g}")),
    }
}

/// True when `text` contains one of the automation words as a whole token.
fn has_automation_word(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|token| AUTOMATION_WORDS.contains(&token.to_ascii_lowercase().as_str()))
}

/// What an identity's profile says about how it behaves, for [`infer_class`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Behaviour {
    pub requests: u64,
    /// Share of requests from clients people drive by hand (kubectl, k9s, ...).
    pub interactive_share: f64,
    /// Share from control-plane binaries.
    pub control_plane_share: f64,
    /// Share from clients whose name points at automation (argocd, helm, terraform, ...).
    pub automation_client_share: f64,
    /// Hours of the day holding at least 2 % of the requests.
    pub hours_covered: u32,
    /// Share of requests on Saturday or Sunday.
    pub weekend_share: f64,
    /// Share of inter-request gaps in the most common (log-scaled) gap bin: near 1 for a
    /// metronome, low for a person.
    pub regularity: f64,
    /// Days with activity.
    pub active_days: u64,
}

impl Behaviour {
    /// Client shares from `(client, count)` pairs.
    pub fn set_clients<'a>(&mut self, clients: impl Iterator<Item = (&'a str, u64)>) {
        let (mut total, mut interactive, mut control, mut automation) = (0u64, 0u64, 0u64, 0u64);
        for (client, count) in clients {
            total += count;
            if INTERACTIVE_CLIENTS.contains(&client) {
                interactive += count;
            }
            if CONTROL_PLANE_CLIENTS.contains(&client) {
                control += count;
            }
            if has_automation_word(client) {
                automation += count;
            }
        }
        let share = |n: u64| {
            if total == 0 {
                0.0
            } else {
                n as f64 / total as f64
            }
        };
        self.interactive_share = share(interactive);
        self.control_plane_share = share(control);
        self.automation_client_share = share(automation);
    }
}

/// Enough requests to trust behaviour over the name.
const BEHAVIOUR_MIN_REQUESTS: u64 = 50;

/// Infers the class from the name and groups (hints) and, once there is enough of it,
/// behaviour.
pub fn infer_class(username: &str, kind: IdentityKind, behaviour: &Behaviour) -> IdentityClass {
    let enough = behaviour.requests >= BEHAVIOUR_MIN_REQUESTS;
    match kind {
        IdentityKind::Anonymous => IdentityClass::Anonymous,
        IdentityKind::Node => IdentityClass::Node,
        IdentityKind::ControlPlane => IdentityClass::ControlPlane,
        IdentityKind::ServiceAccount => {
            let name = service_account(username).map_or(username, |(_, n)| n);
            if has_automation_word(name) || behaviour.automation_client_share > 0.5 {
                IdentityClass::Automation
            } else if enough && behaviour.interactive_share > 0.8 && behaviour.hours_covered < 16 {
                // A token used by hand from kubectl, like a person.
                IdentityClass::Human
            } else {
                IdentityClass::ServiceAccount
            }
        }
        IdentityKind::User => {
            if behaviour.control_plane_share > 0.5 {
                return IdentityClass::ControlPlane;
            }
            let around_the_clock = behaviour.hours_covered >= 18;
            let machine_like = behaviour.regularity > 0.6 || around_the_clock;
            let named = has_automation_word(username);
            if behaviour.automation_client_share > 0.5 {
                return IdentityClass::Automation;
            }
            if enough && behaviour.interactive_share < 0.2 && machine_like {
                return IdentityClass::Automation;
            }
            if named && (!enough || behaviour.interactive_share < 0.8) {
                return IdentityClass::Automation;
            }
            IdentityClass::Human
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_canonical_names() {
        let sa = "system:serviceaccount:monitoring:prometheus";
        assert_eq!(kind_of(sa, &[]), IdentityKind::ServiceAccount);
        assert_eq!(
            canonical(sa, IdentityKind::ServiceAccount),
            "serviceaccount:monitoring/prometheus"
        );
        assert_eq!(kind_of("system:node:ip-10-0-1-5", &[]), IdentityKind::Node);
        assert_eq!(canonical("system:node:n1", IdentityKind::Node), "node:n1");
        assert_eq!(kind_of("system:anonymous", &[]), IdentityKind::Anonymous);
        assert_eq!(
            kind_of("system:kube-scheduler", &[]),
            IdentityKind::ControlPlane
        );
        let rs = "system:serviceaccount:kube-system:replicaset-controller";
        assert_eq!(kind_of(rs, &[]), IdentityKind::ControlPlane);
        assert_eq!(
            canonical(rs, IdentityKind::ControlPlane),
            "control-plane:kube-system/replicaset-controller"
        );
        assert_eq!(
            kind_of("alice@corp.example", &["oidc:dev"]),
            IdentityKind::User
        );
    }

    #[test]
    fn peer_groups() {
        let sa = "system:serviceaccount:ci:deployer";
        assert_eq!(
            peer_group(sa, IdentityKind::ServiceAccount, &[]),
            "serviceaccounts:ci"
        );
        assert_eq!(
            peer_group("system:node:a", IdentityKind::Node, &[]),
            "nodes"
        );
        let groups = ["system:authenticated", "oidc:sre"];
        assert_eq!(
            peer_group("bob", IdentityKind::User, &groups),
            "group:oidc:sre"
        );
        assert_eq!(peer_group("bob", IdentityKind::User, &[]), "users");
    }

    #[test]
    fn class_from_behaviour_not_only_names() {
        let person = Behaviour {
            requests: 400,
            interactive_share: 0.95,
            hours_covered: 9,
            regularity: 0.2,
            ..Behaviour::default()
        };
        assert_eq!(
            infer_class("carol", IdentityKind::User, &person),
            IdentityClass::Human
        );
        // An innocuous name, but a script's habits: no kubectl, every hour, like a clock.
        let script = Behaviour {
            requests: 3000,
            interactive_share: 0.0,
            hours_covered: 24,
            regularity: 0.8,
            ..Behaviour::default()
        };
        assert_eq!(
            infer_class("svc-reporting", IdentityKind::User, &script),
            IdentityClass::Automation
        );
        let mut deployer = Behaviour::default();
        deployer.set_clients([("argocd-application-controller", 90), ("kubectl", 10)].into_iter());
        assert_eq!(
            infer_class(
                "system:serviceaccount:argocd:app",
                IdentityKind::ServiceAccount,
                &deployer
            ),
            IdentityClass::Automation
        );
        assert_eq!(
            infer_class(
                "system:serviceaccount:shop:web",
                IdentityKind::ServiceAccount,
                &Behaviour::default()
            ),
            IdentityClass::ServiceAccount
        );
        assert_eq!(
            IdentityClass::parse("control-plane"),
            Some(IdentityClass::ControlPlane)
        );
    }
}
