//! What one request costs in the log: the cost model behind `policy simulate`.
//!
//! A request's kept record was measured while reading (its length, and its bodies'
//! [`BodyBytes`](crate::model::BodyBytes)); from it, [`RequestCost`] estimates the record of
//! each stage the request produces, and [`BodyModel`] the bodies a record lacks at a higher
//! level, from the requests of the same kind that were logged with them. See `volume.rs` for
//! how the estimates are summed and compared.

use std::collections::HashMap;

use rustc_hash::FxBuildHasher;

use super::evaluate::Decision;
use super::volume::Volume;
use crate::intern::{Interner, Sym};
use crate::model::{Event, Level, Stage};

/// Average bodies by kind of request, from the requests logged with them.
#[derive(Default)]
pub(crate) struct BodyModel {
    by_kind: HashMap<(Sym, Sym, Sym, Sym), Averages, FxBuildHasher>,
    /// By verb and subresource: a create of any object, but not an exec.
    by_verb: HashMap<(Sym, Sym), Averages, FxBuildHasher>,
}

#[derive(Clone, Copy, Default)]
struct Averages {
    request: (u64, u64),
    response: (u64, u64),
}

impl Averages {
    fn learn(&mut self, event: &Event) {
        if event.level >= Level::Request && event.level != Level::Unknown {
            self.request.0 += event.bodies.request();
            self.request.1 += 1;
        }
        if event.level == Level::RequestResponse {
            self.response.0 += event.bodies.response();
            self.response.1 += 1;
        }
    }
}

fn average((sum, n): (u64, u64)) -> Option<u64> {
    (n > 0).then(|| sum / n)
}

impl BodyModel {
    pub(crate) fn learn(requests: &[Event]) -> BodyModel {
        let mut model = BodyModel::default();
        for event in requests {
            let kind = (
                event.verb,
                event.api_group,
                event.resource,
                event.subresource,
            );
            model.by_kind.entry(kind).or_default().learn(event);
            model
                .by_verb
                .entry((event.verb, event.subresource))
                .or_default()
                .learn(event);
        }
        model
    }

    /// The request and response bodies of `event` at `level`: as logged where the record has
    /// them, else estimated; and whether any was estimated (`Some(true)`) or unknown
    /// (`Some(false)`).
    pub(crate) fn bodies(&self, event: &Event, level: Level) -> (u64, u64, Option<bool>) {
        let observed = event.level;
        let kind = (
            event.verb,
            event.api_group,
            event.resource,
            event.subresource,
        );
        let mut flag = None;
        let mut pick = |get: fn(&Averages) -> (u64, u64)| {
            let found = self
                .by_kind
                .get(&kind)
                .and_then(|a| average(get(a)))
                .or_else(|| {
                    self.by_verb
                        .get(&(event.verb, event.subresource))
                        .and_then(|a| average(get(a)))
                });
            match found {
                Some(bytes) => {
                    flag = Some(flag.unwrap_or(true));
                    bytes
                }
                None => {
                    flag = Some(false);
                    0
                }
            }
        };
        let request = if level < Level::Request {
            0
        } else if observed >= Level::Request && observed != Level::Unknown {
            event.bodies.request()
        } else {
            pick(|a| a.request)
        };
        let response = if level < Level::RequestResponse {
            0
        } else if observed == Level::RequestResponse {
            event.bodies.response()
        } else {
            pick(|a| a.response)
        };
        (request, response, flag)
    }
}

/// Bytes a `ResponseComplete` record has that a `RequestReceived` one lacks: the response
/// status and the authorizer's annotations.
fn completion_bytes(event: &Event, interner: &Interner) -> u64 {
    const STATUS: &str = r#","responseStatus":{"metadata":{},"code":200}"#;
    const ANNOTATIONS: &str = r#","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}"#;
    let mut bytes = 0;
    if event.code != 0 {
        bytes += STATUS.len() as u64;
    }
    if event.decision != crate::model::Decision::Unknown {
        bytes += (ANNOTATIONS.len() + interner.resolve(event.reason).len()) as u64;
    }
    bytes
}

/// True for the requests kube-apiserver holds open (its `LongRunningRequestCheck`): they also
/// write a `ResponseStarted` event.
pub fn is_long_running(verb: &str, subresource: &str) -> bool {
    matches!(verb, "watch" | "proxy")
        || matches!(
            subresource,
            "attach" | "exec" | "proxy" | "log" | "portforward"
        )
}

/// The cost model of one request.
pub(crate) struct RequestCost {
    /// Bytes of the completed record without bodies.
    metadata: u64,
    /// Of a `RequestReceived` record.
    received: u64,
    /// The stages the request produces.
    produced: u8,
    /// The stage whose record holds what rules read (the most complete one).
    detail: Stage,
}

impl RequestCost {
    pub(crate) fn of(event: &Event, interner: &Interner) -> RequestCost {
        let len = u64::from(event.source.len);
        let bodies = event.bodies.request() + event.bodies.response();
        let extra = completion_bytes(event, interner);
        let (metadata, received) = if event.stage == Stage::RequestReceived {
            (len + extra, len)
        } else {
            let metadata = len.saturating_sub(bodies);
            (metadata, metadata.saturating_sub(extra))
        };
        let long = is_long_running(
            interner.resolve(event.verb),
            interner.resolve(event.subresource),
        );
        let mut produced = event.stages_seen | Stage::RequestReceived.bit();
        if long {
            produced |= Stage::ResponseStarted.bit();
        }
        if event.stages_seen & Stage::Panic.bit() == 0 {
            produced |= Stage::ResponseComplete.bit();
        }
        RequestCost {
            metadata,
            received,
            produced,
            detail: if event.stage == Stage::Unknown {
                Stage::ResponseComplete
            } else {
                event.stage
            },
        }
    }

    fn stage_bytes(&self, stage: Stage, bodies: u64) -> u64 {
        match stage {
            Stage::RequestReceived => self.received,
            Stage::ResponseStarted => self.metadata,
            _ => self.metadata + bodies,
        }
    }

    /// What the logs hold of the request.
    pub(crate) fn observed(&self, event: &Event) -> Volume {
        let mut volume = Volume {
            events: 1,
            bytes: u64::from(event.source.len),
        };
        let kept = event.stage;
        for stage in super::STAGES {
            if stage != kept && event.stages_seen & stage.bit() != 0 {
                volume.events += 1;
                volume.bytes += self.stage_bytes(stage, 0);
            }
        }
        volume
    }

    /// What the policy's decision would write, with the bodies at its level.
    pub(crate) fn simulated(&self, decision: &Decision, bodies: u64) -> Volume {
        let mut volume = Volume::default();
        if decision.level == Level::None {
            return volume;
        }
        for stage in super::STAGES {
            if self.produced & stage.bit() != 0 && !decision.omit_stages.contains(stage) {
                volume.events += 1;
                volume.bytes += self.stage_bytes(stage, bodies);
            }
        }
        volume
    }

    /// True when the record the rules read would still be written.
    pub(crate) fn detail_written(&self, decision: &Decision) -> bool {
        decision.writes(self.detail)
    }
}
