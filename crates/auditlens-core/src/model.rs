//! The normalized event model.
//!
//! Every input form (JSON lines, arrays, `EventList`s, gzip, and later the cloud wrappers) is
//! mapped onto [`Event`]: a compact, owned record of one audit event with its strings interned.
//! Request and response bodies are not copied into it; rules read them from the borrowed wire
//! event while it streams past (see [`crate::ingest::WireEvent`]), and a viewer re-reads the raw
//! line through [`Source`].

use serde::{Deserialize, Serialize};

use crate::intern::{AuditId, Interner, ListId, Sym};
use crate::time::Micros;

/// The stage at which an event was logged. Ordered from least to most complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Stage {
    RequestReceived,
    ResponseStarted,
    ResponseComplete,
    Panic,
    /// An event without a recognised stage.
    Unknown,
}

impl Stage {
    /// Parses the `stage` field.
    pub fn parse(text: &str) -> Stage {
        match text {
            "RequestReceived" => Stage::RequestReceived,
            "ResponseStarted" => Stage::ResponseStarted,
            "ResponseComplete" => Stage::ResponseComplete,
            "Panic" => Stage::Panic,
            _ => Stage::Unknown,
        }
    }

    /// How complete a record of the request this stage is; the highest wins when merging.
    pub fn completeness(self) -> u8 {
        match self {
            Stage::Unknown => 0,
            Stage::RequestReceived => 1,
            Stage::ResponseStarted => 2,
            Stage::ResponseComplete | Stage::Panic => 3,
        }
    }

    /// Bit for the set of stages seen for one request.
    pub fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// The name as written in audit events.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::RequestReceived => "RequestReceived",
            Stage::ResponseStarted => "ResponseStarted",
            Stage::ResponseComplete => "ResponseComplete",
            Stage::Panic => "Panic",
            Stage::Unknown => "Unknown",
        }
    }
}

/// The audit level the event was logged at (how much of the request it carries).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Level {
    None,
    Metadata,
    Request,
    RequestResponse,
    Unknown,
}

impl Level {
    /// Parses the `level` field.
    pub fn parse(text: &str) -> Level {
        match text {
            "None" => Level::None,
            "Metadata" => Level::Metadata,
            "Request" => Level::Request,
            "RequestResponse" => Level::RequestResponse,
            _ => Level::Unknown,
        }
    }
}

/// The authorizer's decision, from the `authorization.k8s.io/decision` annotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Decision {
    Allow,
    Forbid,
    /// No decision annotation (older API servers, or not yet authorized).
    Unknown,
}

impl Decision {
    /// Parses the annotation value.
    pub fn parse(text: &str) -> Decision {
        match text {
            "allow" => Decision::Allow,
            "forbid" => Decision::Forbid,
            _ => Decision::Unknown,
        }
    }
}

/// How many bytes of a record were its request and response bodies (`requestObject` and
/// `responseObject` with their keys), so that the rest is what the record takes at `Metadata`.
///
/// Both sizes fit in one `u32`, 16 bits each: exact below 32 KiB, in 256-byte steps above
/// (up to 8 MiB, the longest record kept by default). Only volume estimates read them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BodyBytes(u32);

impl BodyBytes {
    /// The sizes of the request and response bodies, in bytes.
    pub fn new(request: usize, response: usize) -> BodyBytes {
        BodyBytes(u32::from(Self::encode(request)) << 16 | u32::from(Self::encode(response)))
    }

    fn encode(bytes: usize) -> u16 {
        if bytes < 0x8000 {
            bytes as u16
        } else {
            0x8000 | (bytes >> 8).min(0x7fff) as u16
        }
    }

    fn decode(half: u16) -> u64 {
        if half & 0x8000 == 0 {
            u64::from(half)
        } else {
            u64::from(half & 0x7fff) << 8
        }
    }

    /// The request body's bytes (0 when the record had none).
    pub fn request(self) -> u64 {
        Self::decode((self.0 >> 16) as u16)
    }

    /// The response body's bytes (0 when the record had none).
    pub fn response(self) -> u64 {
        Self::decode(self.0 as u16)
    }
}

/// Where an event came from: enough to point a person at it and to re-read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Source {
    /// Index of the file in the analysis, in the order files were added.
    pub file: u32,
    /// 1-based line of the event's first byte (in the decompressed stream for gzip input).
    pub line: u64,
    /// Byte offset of the event's first byte in the (decompressed) stream.
    pub offset: u64,
    /// Length of the raw record in bytes.
    pub len: u32,
}

/// One audit event, normalized. Strings are [`Sym`]s into the analysis' [`Interner`];
/// `Sym::EMPTY` means the field was absent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub audit_id: AuditId,
    pub stage: Stage,
    /// Every stage seen for this request (after merging), as [`Stage::bit`]s.
    pub stages_seen: u8,
    pub level: Level,
    /// When the API server received the request.
    pub received: Micros,
    /// The authenticated user (the actor).
    pub user: Sym,
    pub uid: Sym,
    pub groups: ListId,
    /// `user.extra` as `key=value1,value2` entries.
    pub extra: ListId,
    /// The impersonated user, when the actor impersonated someone.
    pub impersonated_user: Sym,
    pub impersonated_groups: ListId,
    pub verb: Sym,
    pub api_group: Sym,
    pub api_version: Sym,
    pub resource: Sym,
    pub subresource: Sym,
    pub namespace: Sym,
    pub name: Sym,
    pub request_uri: Sym,
    /// True for non-resource URLs (`/healthz`, `/apis`, ...): no objectRef.
    pub non_resource: bool,
    pub source_ips: ListId,
    pub user_agent: Sym,
    /// The client program, parsed from the user agent (`kubectl`).
    pub client: Sym,
    /// The client version, parsed from the user agent (`v1.29.2`).
    pub client_version: Sym,
    /// HTTP response code, 0 when the stage carries none.
    pub code: u16,
    pub decision: Decision,
    pub reason: Sym,
    /// The event was cut short by the producer and only partly recovered.
    pub truncated: bool,
    /// The bytes of the record's bodies (of the stage kept, like `source`).
    pub bodies: BodyBytes,
    pub source: Source,
}

impl Event {
    /// Merges another stage of the same request into this one: the most complete stage is
    /// kept (an untruncated copy over a truncated one), with the earliest time and every
    /// stage seen.
    pub fn merge_stage(&mut self, event: Event) {
        let stages_seen = self.stages_seen | event.stages_seen;
        let received = self.received.min(event.received);
        let better = event.stage.completeness() > self.stage.completeness()
            || (event.stage.completeness() == self.stage.completeness()
                && self.truncated
                && !event.truncated);
        if better {
            *self = event;
        }
        self.stages_seen = stages_seen;
        self.received = received;
    }

    /// This event with its strings moved to another interner.
    pub fn moved(&self, m: &mut crate::intern::Mover<'_>) -> Event {
        Event {
            audit_id: m.audit_id(self.audit_id),
            user: m.sym(self.user),
            uid: m.sym(self.uid),
            groups: m.list(self.groups),
            extra: m.list(self.extra),
            impersonated_user: m.sym(self.impersonated_user),
            impersonated_groups: m.list(self.impersonated_groups),
            verb: m.sym(self.verb),
            api_group: m.sym(self.api_group),
            api_version: m.sym(self.api_version),
            resource: m.sym(self.resource),
            subresource: m.sym(self.subresource),
            namespace: m.sym(self.namespace),
            name: m.sym(self.name),
            request_uri: m.sym(self.request_uri),
            source_ips: m.list(self.source_ips),
            user_agent: m.sym(self.user_agent),
            client: m.sym(self.client),
            client_version: m.sym(self.client_version),
            reason: m.sym(self.reason),
            ..self.clone()
        }
    }

    /// The identity the request acted as: the impersonated user if any, else the actor.
    pub fn effective_user(&self) -> Sym {
        if self.impersonated_user.is_empty() {
            self.user
        } else {
            self.impersonated_user
        }
    }

    /// `resource/subresource`, or the resource alone, or the request path for non-resource URLs.
    pub fn resource_label(&self, interner: &Interner) -> String {
        if self.non_resource {
            let uri = interner.resolve(self.request_uri);
            return uri.split('?').next().unwrap_or(uri).to_string();
        }
        let resource = interner.resolve(self.resource);
        if self.subresource.is_empty() {
            resource.to_string()
        } else {
            format!("{resource}/{}", interner.resolve(self.subresource))
        }
    }

    /// The first source IP, or empty.
    pub fn source_ip(&self, interner: &Interner) -> Sym {
        interner
            .list(self.source_ips)
            .first()
            .copied()
            .unwrap_or(Sym::EMPTY)
    }
}

/// Splits a user agent into client and version: `kubectl/v1.29.2 (linux/amd64) kubernetes/abc`
/// gives (`kubectl`, `v1.29.2`). A token without `/` is all client.
pub fn parse_user_agent(user_agent: &str) -> (&str, &str) {
    let first = user_agent.split_whitespace().next().unwrap_or("");
    match first.split_once('/') {
        Some((client, version)) => (client, version),
        None => (first, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Memory per request is mostly this struct (see docs/performance.md); a field added to it
    /// costs every request of every log.
    #[test]
    fn a_request_stays_compact() {
        assert_eq!(std::mem::size_of::<Event>(), 136);
    }

    #[test]
    fn body_sizes_survive_their_packing() {
        for (request, response) in [(0, 0), (1, 32767), (32768, 40_000), (8 << 20, 9 << 20)] {
            let bodies = BodyBytes::new(request, response);
            let near = |got: u64, want: usize| {
                let want = (want as u64).min(0x7fff << 8);
                got <= want && want - got < 256
            };
            assert!(
                near(bodies.request(), request),
                "{request}: {}",
                bodies.request()
            );
            assert!(
                near(bodies.response(), response),
                "{response}: {}",
                bodies.response()
            );
        }
        assert_eq!(BodyBytes::new(1234, 0).request(), 1234);
    }

    #[test]
    fn user_agents_split_into_client_and_version() {
        assert_eq!(
            parse_user_agent("kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819"),
            ("kubectl", "v1.29.2")
        );
        assert_eq!(
            parse_user_agent("kube-controller-manager/v1.15.10 (linux/amd64) kubernetes/059c666/system:serviceaccount:kube-system:x"),
            ("kube-controller-manager", "v1.15.10")
        );
        assert_eq!(parse_user_agent("curl"), ("curl", ""));
        assert_eq!(parse_user_agent(""), ("", ""));
    }

    #[test]
    fn stages_rank_by_completeness() {
        assert!(Stage::ResponseComplete.completeness() > Stage::RequestReceived.completeness());
        assert_eq!(Stage::parse("Panic"), Stage::Panic);
        assert_eq!(Stage::parse("nonsense"), Stage::Unknown);
    }
}
