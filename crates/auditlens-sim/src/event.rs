//! One API request and how it becomes `audit.k8s.io/v1` Event lines.
//!
//! Traffic code builds a [`Request`] with the fluent setters below; the world applies the
//! audit policy (level, stages) and queues it; the writer turns it into one line per stage with
//! [`Line`]. Everything an event derives from the request (the `requestURI`, error messages,
//! timestamps) is written straight into the output through `Display`, without intermediate
//! strings, so a line costs little more than its bytes.

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use rand::{Rng, RngCore};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use crate::catalog::Resource;
use crate::clock::{Micros, MILLI};
use crate::identity::{Actor, ActorId, Identity};
use crate::json::{raw, Json};

/// A random (version 4) UUID, the form of `auditID`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AuditId(pub [u8; 16]);

impl AuditId {
    pub(crate) fn random(rng: &mut impl RngCore) -> Self {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        AuditId(bytes)
    }
}

impl fmt::Display for AuditId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 36];
        let mut at = 0;
        for (i, byte) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                out[at] = b'-';
                at += 1;
            }
            out[at] = HEX[usize::from(byte >> 4)];
            out[at + 1] = HEX[usize::from(byte & 0x0f)];
            at += 2;
        }
        f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    Metadata,
    Request,
    RequestResponse,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Metadata => "Metadata",
            Level::Request => "Request",
            Level::RequestResponse => "RequestResponse",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    RequestReceived,
    ResponseComplete,
}

/// What a request addresses: an API object or collection, or a non-resource path.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    Resource {
        resource: &'static Resource,
        namespace: Option<Arc<str>>,
        name: Option<Arc<str>>,
        subresource: Option<&'static str>,
    },
    Path(Cow<'static, str>),
}

/// Pod Security admission's verdict on a pod write.
#[derive(Clone, Debug)]
pub(crate) struct PodSecurity {
    /// `pod-security.kubernetes.io/enforce-policy`, e.g. `restricted:latest`.
    pub enforce: &'static str,
    /// `pod-security.kubernetes.io/audit-violations`, when the pod breaks the audit level.
    pub audit_violations: Option<Arc<str>>,
}

/// One API request from arrival to response.
#[derive(Clone, Debug)]
pub(crate) struct Request {
    pub audit_id: AuditId,
    pub actor: ActorId,
    pub identity: Arc<Identity>,
    pub impersonated: Option<Arc<Identity>>,
    pub user_agent: Arc<str>,
    pub ip: IpAddr,
    pub verb: &'static str,
    pub target: Target,
    /// The query string without `?`, parameters in client-go's sorted order.
    pub query: String,
    pub code: u16,
    pub allowed: bool,
    pub reason: Arc<str>,
    pub request_object: Option<Arc<RawValue>>,
    pub response_object: Option<Arc<RawValue>>,
    pub pod_security: Option<PodSecurity>,
    pub received: i64,
    pub completed: i64,
    /// Decided by the audit policy when the request is queued.
    pub level: Level,
    pub two_stage: bool,
    /// Index of the scenario this request belongs to, if any.
    pub label: Option<u16>,
}

impl Request {
    /// A request from `actor` arriving at `at`, allowed, with a typical latency for `verb`.
    pub(crate) fn new(
        rng: &mut impl Rng,
        actor_id: ActorId,
        actor: &Actor,
        verb: &'static str,
        at: i64,
    ) -> Self {
        let latency = match verb {
            "get" => rng.gen_range(600..6_000),
            "list" => rng.gen_range(3 * MILLI..45 * MILLI),
            "create" | "update" | "patch" | "delete" => rng.gen_range(4 * MILLI..28 * MILLI),
            "deletecollection" => rng.gen_range(30 * MILLI..220 * MILLI),
            _ => rng.gen_range(MILLI..10 * MILLI),
        };
        Request {
            audit_id: AuditId::random(rng),
            actor: actor_id,
            identity: actor.identity.clone(),
            impersonated: None,
            user_agent: actor.user_agent.clone(),
            ip: actor.ip,
            verb,
            target: Target::Path(Cow::Borrowed("/")),
            query: String::new(),
            code: if verb == "create" { 201 } else { 200 },
            allowed: true,
            reason: actor.reason.clone(),
            request_object: None,
            response_object: None,
            pod_security: None,
            received: at,
            completed: at + latency,
            level: Level::Metadata,
            two_stage: false,
            label: None,
        }
    }

    /// A namespaced collection (list, watch, create, deletecollection).
    pub(crate) fn collection(
        self,
        resource: &'static Resource,
        namespace: impl Into<Arc<str>>,
    ) -> Self {
        self.resource(resource, Some(namespace.into()), None)
    }

    /// A named object in a namespace.
    pub(crate) fn object(
        self,
        resource: &'static Resource,
        namespace: impl Into<Arc<str>>,
        name: impl Into<Arc<str>>,
    ) -> Self {
        self.resource(resource, Some(namespace.into()), Some(name.into()))
    }

    /// A cluster-wide collection: cluster-scoped resources, or all namespaces.
    pub(crate) fn cluster(self, resource: &'static Resource) -> Self {
        self.resource(resource, None, None)
    }

    /// A named cluster-scoped object.
    pub(crate) fn cluster_object(
        self,
        resource: &'static Resource,
        name: impl Into<Arc<str>>,
    ) -> Self {
        let name = name.into();
        // An existing namespace names itself as its namespace too; one being created does not.
        let namespace =
            (resource.plural == "namespaces" && self.verb != "create").then(|| name.clone());
        self.resource(resource, namespace, Some(name))
    }

    fn resource(
        mut self,
        resource: &'static Resource,
        namespace: Option<Arc<str>>,
        name: Option<Arc<str>>,
    ) -> Self {
        self.target = Target::Resource {
            resource,
            namespace,
            name,
            subresource: None,
        };
        self
    }

    pub(crate) fn sub(mut self, subresource: &'static str) -> Self {
        if let Target::Resource {
            subresource: slot, ..
        } = &mut self.target
        {
            *slot = Some(subresource);
        }
        self
    }

    /// A non-resource URL such as `/healthz`.
    pub(crate) fn path(mut self, path: impl Into<Cow<'static, str>>) -> Self {
        self.target = Target::Path(path.into());
        self
    }

    pub(crate) fn query(mut self, query: impl Into<String>) -> Self {
        self.query = query.into();
        self
    }

    /// Sets the time from arrival to the end of the response.
    pub(crate) fn took(mut self, micros: i64) -> Self {
        self.completed = self.received + micros.max(1);
        self
    }

    pub(crate) fn code(mut self, code: u16) -> Self {
        self.code = code;
        self
    }

    /// Denied by authorization: 403 with an empty reason.
    pub(crate) fn forbid(mut self) -> Self {
        self.code = 403;
        self.allowed = false;
        self.reason = Arc::from("");
        self
    }

    pub(crate) fn reason(mut self, reason: Arc<str>) -> Self {
        self.reason = reason;
        self
    }

    pub(crate) fn body(mut self, body: &Json) -> Self {
        self.request_object = Some(raw(body));
        self
    }

    pub(crate) fn body_raw(mut self, body: Arc<RawValue>) -> Self {
        self.request_object = Some(body);
        self
    }

    pub(crate) fn response(mut self, body: &Json) -> Self {
        self.response_object = Some(raw(body));
        self
    }

    pub(crate) fn impersonating(mut self, identity: Arc<Identity>) -> Self {
        self.impersonated = Some(identity);
        self
    }

    pub(crate) fn pod_security(
        mut self,
        enforce: &'static str,
        audit_violations: Option<&str>,
    ) -> Self {
        self.pod_security = Some(PodSecurity {
            enforce,
            audit_violations: audit_violations.map(Arc::from),
        });
        self
    }

    pub(crate) fn is_write(&self) -> bool {
        matches!(
            self.verb,
            "create" | "update" | "patch" | "delete" | "deletecollection"
        )
    }

    pub(crate) fn resource_ref(&self) -> Option<&'static Resource> {
        match self.target {
            Target::Resource { resource, .. } => Some(resource),
            Target::Path(_) => None,
        }
    }

    pub(crate) fn subresource(&self) -> Option<&'static str> {
        match self.target {
            Target::Resource { subresource, .. } => subresource,
            Target::Path(_) => None,
        }
    }

    /// The user authorization was checked for: the impersonated one if any.
    fn effective_user(&self) -> &Identity {
        self.impersonated.as_deref().unwrap_or(&self.identity)
    }
}

/// A `Display` value serialised as a JSON string without an intermediate `String`.
struct Shown<T>(T);

impl<T: fmt::Display> Serialize for Shown<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

struct Uri<'a>(&'a Request);

impl fmt::Display for Uri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.target {
            Target::Path(path) => f.write_str(path)?,
            Target::Resource {
                resource,
                namespace,
                name,
                subresource,
            } => {
                write!(f, "{}", resource.api_prefix())?;
                if let (true, Some(ns)) = (resource.namespaced, namespace) {
                    write!(f, "/namespaces/{ns}")?;
                }
                write!(f, "/{}", resource.plural)?;
                // A create posts to the collection; the name comes from the body.
                let posted = self.0.verb == "create" && subresource.is_none();
                if let (Some(name), false) = (name, posted) {
                    write!(f, "/{name}")?;
                }
                if let Some(sub) = subresource {
                    write!(f, "/{sub}")?;
                }
            }
        }
        if !self.0.query.is_empty() {
            write!(f, "?{}", self.0.query)?;
        }
        Ok(())
    }
}

struct ObjectRefView<'a>(&'a Request);

impl Serialize for ObjectRefView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        if let Target::Resource {
            resource,
            namespace,
            name,
            subresource,
        } = &self.0.target
        {
            map.serialize_entry("resource", resource.plural)?;
            if let Some(ns) = namespace {
                map.serialize_entry("namespace", &**ns)?;
            }
            if let Some(name) = name {
                map.serialize_entry("name", &**name)?;
            }
            if !resource.group.is_empty() {
                map.serialize_entry("apiGroup", resource.group)?;
            }
            map.serialize_entry("apiVersion", resource.version)?;
            if let Some(sub) = subresource {
                map.serialize_entry("subresource", sub)?;
            }
        }
        map.end()
    }
}

/// The `message` of a failed request's status, as the apiserver words it.
struct FailureMessage<'a>(&'a Request);

impl fmt::Display for FailureMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let req = self.0;
        let Target::Resource {
            resource,
            namespace,
            name,
            subresource,
        } = &req.target
        else {
            return match req.code {
                403 => write!(
                    f,
                    "forbidden: User \"{}\" cannot {} path \"{}\"",
                    req.effective_user().username,
                    req.verb,
                    Uri(req)
                ),
                _ => f.write_str("the server could not find the requested resource"),
            };
        };
        let qualified = resource.qualified();
        match req.code {
            403 => {
                match name {
                    Some(name) => write!(f, "{qualified} \"{name}\" is forbidden")?,
                    None => write!(f, "{qualified} is forbidden")?,
                }
                write!(f, ": User \"{}\" cannot {} resource \"{}", req.effective_user().username, req.verb, resource.plural)?;
                if let Some(sub) = subresource {
                    write!(f, "/{sub}")?;
                }
                write!(f, "\" in API group \"{}\"", resource.group)?;
                match namespace {
                    Some(ns) if resource.namespaced => write!(f, " in the namespace \"{ns}\"")?,
                    _ => f.write_str(" at the cluster scope")?,
                }
                if !req.reason.is_empty() {
                    write!(f, ": {}", req.reason)?;
                }
                Ok(())
            }
            404 => write!(f, "{qualified} \"{}\" not found", name.as_deref().unwrap_or("")),
            409 if req.verb == "create" => write!(f, "{qualified} \"{}\" already exists", name.as_deref().unwrap_or("")),
            409 => write!(
                f,
                "Operation cannot be fulfilled on {qualified} \"{}\": the object has been modified; please apply your changes to the latest version and try again",
                name.as_deref().unwrap_or("")
            ),
            _ => f.write_str("Internal error occurred"),
        }
    }
}

struct StatusView<'a>(&'a Request);

impl Serialize for StatusView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let req = self.0;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("metadata", &EmptyObject)?;
        if req.code >= 400 {
            let reason = match req.code {
                403 => "Forbidden",
                404 => "NotFound",
                409 if req.verb == "create" => "AlreadyExists",
                409 => "Conflict",
                _ => "InternalError",
            };
            map.serialize_entry("status", "Failure")?;
            map.serialize_entry("message", &Shown(FailureMessage(req)))?;
            map.serialize_entry("reason", reason)?;
            if let Target::Resource { resource, name, .. } = &req.target {
                map.serialize_entry(
                    "details",
                    &DetailsView {
                        resource,
                        name: name.as_deref(),
                    },
                )?;
            }
        }
        map.serialize_entry("code", &req.code)?;
        map.end()
    }
}

struct EmptyObject;

impl Serialize for EmptyObject {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_map(Some(0))?.end()
    }
}

struct DetailsView<'a> {
    resource: &'a Resource,
    name: Option<&'a str>,
}

impl Serialize for DetailsView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        if let Some(name) = self.name {
            map.serialize_entry("name", name)?;
        }
        if !self.resource.group.is_empty() {
            map.serialize_entry("group", self.resource.group)?;
        }
        map.serialize_entry("kind", self.resource.plural)?;
        map.end()
    }
}

struct AnnotationsView<'a>(&'a Request);

impl Serialize for AnnotationsView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let req = self.0;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry(
            "authorization.k8s.io/decision",
            if req.allowed { "allow" } else { "forbid" },
        )?;
        map.serialize_entry("authorization.k8s.io/reason", &*req.reason)?;
        if let Some(pss) = &req.pod_security {
            if let Some(violations) = &pss.audit_violations {
                map.serialize_entry("pod-security.kubernetes.io/audit-violations", &**violations)?;
            }
            map.serialize_entry("pod-security.kubernetes.io/enforce-policy", pss.enforce)?;
        }
        map.end()
    }
}

/// One audit event line: a request at one of its stages.
pub(crate) struct Line<'a> {
    pub request: &'a Request,
    pub stage: Stage,
}

impl Serialize for Line<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let req = self.request;
        let complete = self.stage == Stage::ResponseComplete;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("kind", "Event")?;
        map.serialize_entry("apiVersion", "audit.k8s.io/v1")?;
        map.serialize_entry("level", req.level.as_str())?;
        map.serialize_entry("auditID", &Shown(req.audit_id))?;
        map.serialize_entry(
            "stage",
            if complete {
                "ResponseComplete"
            } else {
                "RequestReceived"
            },
        )?;
        map.serialize_entry("requestURI", &Shown(Uri(req)))?;
        map.serialize_entry("verb", req.verb)?;
        map.serialize_entry("user", &*req.identity.user)?;
        if let Some(imp) = &req.impersonated {
            map.serialize_entry("impersonatedUser", &*imp.impersonated)?;
        }
        map.serialize_entry("sourceIPs", &[req.ip])?;
        map.serialize_entry("userAgent", &*req.user_agent)?;
        if matches!(req.target, Target::Resource { .. }) {
            map.serialize_entry("objectRef", &ObjectRefView(req))?;
        }
        if complete {
            map.serialize_entry("responseStatus", &StatusView(req))?;
            if req.level >= Level::Request {
                if let Some(body) = &req.request_object {
                    map.serialize_entry("requestObject", &**body)?;
                }
            }
            if req.level >= Level::RequestResponse {
                if let Some(body) = &req.response_object {
                    map.serialize_entry("responseObject", &**body)?;
                }
            }
        }
        map.serialize_entry("requestReceivedTimestamp", &Shown(Micros(req.received)))?;
        let stage_time = if complete {
            req.completed
        } else {
            req.received
        };
        map.serialize_entry("stageTimestamp", &Shown(Micros(stage_time)))?;
        if complete {
            map.serialize_entry("annotations", &AnnotationsView(req))?;
        }
        map.end()
    }
}
