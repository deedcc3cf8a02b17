//! What a rule sees of one event: the normalized fields as plain strings, and the request and
//! response bodies parsed on first use.
//!
//! The engine builds one [`Ctx`] per event and hands it to every enabled rule whose resource
//! filter matches. Bodies are parsed lazily and at most once per event (`OnceCell`): the dozen
//! pod rules share one parse of the pod spec, and an event no body rule cares about is never
//! parsed at all.

use std::cell::{Cell, OnceCell};

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::bodies::{Binding, Named, PodCarrier, PodSpec, Role};
use super::config::RuleConfig;
use super::AgentFacts;
use crate::ingest::WireEvent;
use crate::intern::{Interner, ListId};
use crate::model::{Decision, Event, Stage};

/// Resources that hold a pod template.
pub const WORKLOADS: &[&str] = &[
    "deployments",
    "daemonsets",
    "statefulsets",
    "replicasets",
    "replicationcontrollers",
    "jobs",
    "cronjobs",
];

/// One event as the rules see it.
pub struct Ctx<'a> {
    pub wire: &'a WireEvent<'a>,
    pub event: &'a Event,
    pub config: &'a RuleConfig,
    /// The rule being evaluated (for per-rule exceptions).
    pub rule: Cell<&'static str>,
    pub verb: &'a str,
    pub resource: &'a str,
    pub subresource: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    /// The authenticated user (the actor).
    pub user: &'a str,
    /// The impersonated user, or empty.
    pub impersonated: &'a str,
    pub uri: &'a str,
    pub user_agent: &'a str,
    /// What the rules read from the user agent.
    pub agent: &'a AgentFacts,
    pub source_ip: &'a str,
    interner: &'a Interner,
    /// The impersonated groups as text, resolved on first use (few rules read them).
    impersonated_groups: OnceCell<Vec<&'a str>>,
    pod: OnceCell<Option<PodCarrier>>,
    role: OnceCell<Option<Role>>,
    response_role: OnceCell<Option<Role>>,
    binding: OnceCell<Option<Binding>>,
    named: OnceCell<Option<Named>>,
}

impl<'a> Ctx<'a> {
    pub fn new(
        wire: &'a WireEvent<'a>,
        event: &'a Event,
        agent: &'a AgentFacts,
        interner: &'a Interner,
        config: &'a RuleConfig,
    ) -> Self {
        Ctx {
            wire,
            event,
            config,
            rule: Cell::new(""),
            verb: interner.resolve(event.verb),
            resource: interner.resolve(event.resource),
            subresource: interner.resolve(event.subresource),
            namespace: interner.resolve(event.namespace),
            name: interner.resolve(event.name),
            user: interner.resolve(event.user),
            impersonated: interner.resolve(event.impersonated_user),
            uri: interner.resolve(event.request_uri),
            user_agent: interner.resolve(event.user_agent),
            agent,
            source_ip: interner.resolve(event.source_ip(interner)),
            interner,
            impersonated_groups: OnceCell::new(),
            pod: OnceCell::new(),
            role: OnceCell::new(),
            response_role: OnceCell::new(),
            binding: OnceCell::new(),
            named: OnceCell::new(),
        }
    }

    // ---- the request -------------------------------------------------------------------

    pub fn verb_in(&self, verbs: &[&str]) -> bool {
        verbs.contains(&self.verb)
    }

    pub fn creates(&self) -> bool {
        self.verb == "create"
    }

    /// create, update or patch.
    pub fn writes(&self) -> bool {
        self.verb_in(&["create", "update", "patch"])
    }

    pub fn deletes(&self) -> bool {
        self.verb_in(&["delete", "deletecollection"])
    }

    /// The request is on the resource itself, not a subresource.
    pub fn on_object(&self) -> bool {
        self.subresource.is_empty()
    }

    /// The response code, 0 when the stage carries none.
    pub fn code(&self) -> u16 {
        self.event.code
    }

    /// Completed with a 2xx response.
    pub fn succeeded(&self) -> bool {
        (200..300).contains(&self.event.code)
    }

    /// Not known to have been refused or to have failed: it succeeded, or the event does not
    /// say (trimmed events carry no response code). Rules that leave failed attempts out use
    /// this; rules about what was *allowed* use [`Ctx::allowed`], which never takes an unknown
    /// outcome for allowed.
    ///
    /// An early stage (RequestReceived, ResponseStarted) without a code is not taken: its
    /// request's outcome comes with a later stage, which the rules see too.
    pub fn not_refused(&self) -> bool {
        let early = matches!(
            self.event.stage,
            Stage::RequestReceived | Stage::ResponseStarted
        );
        !self.failed()
            && self.event.decision != Decision::Forbid
            && !(early && self.event.code == 0)
    }

    /// The request's namespace belongs to the control plane ([`is_system_namespace`]).
    pub fn in_system_namespace(&self) -> bool {
        is_system_namespace(self.namespace)
    }

    /// The event carries neither a response code nor the authorizer's decision.
    pub fn outcome_unknown(&self) -> bool {
        self.event.code == 0 && self.event.decision == Decision::Unknown
    }

    /// Completed with an error response (4xx, 5xx).
    pub fn failed(&self) -> bool {
        self.event.code >= 400
    }

    /// The authorizer allowed it (or, without the annotation, the response says it went
    /// through).
    pub fn allowed(&self) -> bool {
        match self.event.decision {
            Decision::Allow => true,
            Decision::Forbid => false,
            Decision::Unknown => (100..400).contains(&self.event.code),
        }
    }

    /// `namespace/name`, or the name alone for cluster objects (a namespace's own requests name
    /// it as their namespace too); `(unnamed)` when unknown.
    pub fn object(&self) -> String {
        let mut name = self.object_name();
        if name.is_empty() {
            name = "(unnamed)".to_string();
        }
        if self.namespace.is_empty() || self.resource == "namespaces" {
            name
        } else {
            format!("{}/{name}", self.namespace)
        }
    }

    /// The object's name: from objectRef, else from the request body (`metadata.name`, or
    /// `generateName` followed by `*`).
    pub fn object_name(&self) -> String {
        if !self.name.is_empty() {
            return self.name.to_string();
        }
        let meta = self
            .named
            .get_or_init(|| parse(self.wire.request_object))
            .as_ref()
            .and_then(|n| n.metadata.as_ref());
        match meta {
            Some(m) => match (&m.name, &m.generate_name) {
                (Some(name), _) if !name.is_empty() => name.clone(),
                (_, Some(prefix)) if !prefix.is_empty() => format!("{prefix}*"),
                _ => String::new(),
            },
            None => String::new(),
        }
    }

    /// `resource namespace/name` for resource requests (`resource in namespace` for a
    /// collection), the path for the others.
    pub fn resource_or_uri(&self) -> String {
        if self.event.non_resource {
            return self.uri.split('?').next().unwrap_or(self.uri).to_string();
        }
        let resource = if self.subresource.is_empty() {
            self.resource.to_string()
        } else {
            format!("{}/{}", self.resource, self.subresource)
        };
        if !self.object_name().is_empty() {
            format!("{resource} {}", self.object())
        } else if self.namespace.is_empty() {
            resource
        } else {
            format!("{resource} in {}", self.namespace)
        }
    }

    /// The authorizer's reason annotation, or a note that there was none.
    pub fn event_reason(&self) -> &'a str {
        match self.wire.annotation("authorization.k8s.io/reason") {
            Some(reason) if !reason.is_empty() => reason,
            _ => "no authorization reason recorded",
        }
    }

    // ---- who -----------------------------------------------------------------------------

    /// The identity the request acted as: the impersonated user, else the actor.
    pub fn effective(&self) -> &'a str {
        if self.impersonated.is_empty() {
            self.user
        } else {
            self.impersonated
        }
    }

    /// The groups the request impersonated (`impersonatedUser.groups`).
    pub fn impersonated_groups(&self) -> &[&'a str] {
        self.texts(&self.impersonated_groups, self.event.impersonated_groups)
    }

    fn texts<'c>(&self, cell: &'c OnceCell<Vec<&'a str>>, list: ListId) -> &'c [&'a str] {
        let interner = self.interner;
        cell.get_or_init(|| {
            interner
                .list(list)
                .iter()
                .map(|&s| interner.resolve(s))
                .collect()
        })
    }

    /// Every source IP of the request as logged: the forwarded chain first, the peer last.
    pub fn source_ips(&self) -> impl Iterator<Item = &'a str> + '_ {
        let interner = self.interner;
        interner
            .list(self.event.source_ips)
            .iter()
            .map(move |&s| interner.resolve(s))
    }

    pub fn anonymous(&self) -> bool {
        is_anonymous(self.interner, self.user, self.event.groups)
    }

    /// A `system:` identity (Falco's "non-system user" is the opposite).
    pub fn system_user(&self) -> bool {
        self.user.starts_with("system:")
    }

    pub fn node(&self) -> bool {
        self.user.starts_with("system:node:")
    }

    pub fn service_account(&self) -> bool {
        self.user.starts_with("system:serviceaccount:")
    }

    /// A control-plane component or a managed provider's system identity.
    pub fn control_plane(&self) -> bool {
        is_control_plane(self.user)
    }

    // ---- bodies --------------------------------------------------------------------------

    /// The pod spec the request carries: a pod's own spec, a workload's pod template, or the
    /// ephemeral containers added to a pod. `None` without a request body.
    pub fn pod_spec(&self) -> Option<&PodSpec> {
        let carrier = self
            .pod
            .get_or_init(|| {
                let pods = self.resource == "pods"
                    && (self.subresource.is_empty() || self.subresource == "ephemeralcontainers");
                (pods || WORKLOADS.contains(&self.resource))
                    .then(|| parse::<PodCarrier>(self.wire.request_object))
                    .flatten()
            })
            .as_ref()?;
        let spec = carrier.spec.as_ref();
        if self.resource == "pods" {
            return spec;
        }
        spec.and_then(PodSpec::template_spec)
    }

    /// Ephemeral containers in the old top-level form of `pods/ephemeralcontainers`.
    pub fn top_level_ephemeral(&self) -> &[super::bodies::Container] {
        self.pod_spec();
        self.pod
            .get()
            .and_then(|c| c.as_ref())
            .and_then(|c| c.ephemeral_containers.as_deref())
            .unwrap_or(&[])
    }

    /// What kind of object carries the pod spec, for messages: `pod`, `deployment`, ...
    pub fn carrier(&self) -> &'static str {
        match self.resource {
            "pods" => "pod",
            "deployments" => "deployment",
            "daemonsets" => "daemonset",
            "statefulsets" => "statefulset",
            "replicasets" => "replicaset",
            "replicationcontrollers" => "replicationcontroller",
            "jobs" => "job",
            "cronjobs" => "cronjob",
            _ => "object",
        }
    }

    /// The Role or ClusterRole in the request body.
    pub fn role(&self) -> Option<&Role> {
        self.role
            .get_or_init(|| parse(self.wire.request_object))
            .as_ref()
    }

    /// The Role or ClusterRole as stored, from the response body (RequestResponse level).
    pub fn response_role(&self) -> Option<&Role> {
        self.response_role
            .get_or_init(|| parse(self.wire.response_object))
            .as_ref()
    }

    /// The binding in the request body, else in the response body.
    pub fn binding(&self) -> Option<&Binding> {
        self.binding
            .get_or_init(|| {
                parse::<Binding>(self.wire.request_object)
                    .filter(|b| b.role_ref.is_some())
                    .or_else(|| parse(self.wire.response_object))
            })
            .as_ref()
    }

    /// Parses the request body as `T` (for bodies only one rule reads).
    pub fn request<T: DeserializeOwned>(&self) -> Option<T> {
        parse(self.wire.request_object)
    }

    /// Whether `image` is trusted for the rule being evaluated.
    pub fn image_trusted(&self, image: &str) -> bool {
        self.config
            .image_trusted(self.rule.get(), image, self.user, self.namespace)
    }
}

/// An unauthenticated actor: the anonymous user, or anyone in the unauthenticated group. Reads
/// the interned group list as it is: rules ask this of every request.
pub fn is_anonymous(interner: &Interner, user: &str, groups: ListId) -> bool {
    user == "system:anonymous" || interner.list_contains(groups, "system:unauthenticated")
}

/// A control-plane component or a managed provider's system identity: not judged by the rules
/// that look for people and workloads doing unusual things.
pub fn is_control_plane(user: &str) -> bool {
    const EXACT: &[&str] = &[
        "system:kube-controller-manager",
        "system:kube-scheduler",
        "system:apiserver",
        "system:gke-controller-manager",
        "aksService",
        "acsService",
        "masterclient",
        "nodeclient",
    ];
    const PREFIXES: &[&str] = &[
        "system:serviceaccount:kube-system:",
        "system:serviceaccount:gke-managed-system:",
        "eks:",
    ];
    EXACT.contains(&user) || PREFIXES.iter().any(|p| user.starts_with(p))
}

fn parse<T: DeserializeOwned>(raw: Option<&RawValue>) -> Option<T> {
    serde_json::from_str(raw?.get()).ok()
}

/// Namespaces the control plane and the managed providers keep for themselves, where user
/// workloads do not belong: kube-system, kube-public, kube-node-lease, and GKE's gke-system,
/// gke-managed-* and managed Prometheus (gmp-system, gmp-public).
pub fn is_system_namespace(namespace: &str) -> bool {
    matches!(
        namespace,
        "kube-system"
            | "kube-public"
            | "kube-node-lease"
            | "gke-system"
            | "gmp-system"
            | "gmp-public"
    ) || namespace.starts_with("gke-managed-")
}
