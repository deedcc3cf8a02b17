//! Helpers for scenario scripts: who acts, and the pace of their requests.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use rand::Rng;

use crate::catalog::*;
use crate::clock::{MILLI, SECOND};
use crate::event::Request;
use crate::identity::{Actor, ActorId};
use crate::world::{SimRng, World};

/// The attacker's own kubectl.
pub(crate) fn attacker_kubectl() -> Arc<str> {
    client_go_agent("kubectl", KUBECTL_1_30_0, "linux/amd64", "")
}

/// A new actor using `of`'s identity (and RBAC) from another address and user agent.
pub(crate) fn borrowed(w: &mut World, of: ActorId, user_agent: Arc<str>, ip: [u8; 4]) -> ActorId {
    let source = &w.actors[of];
    let actor = Actor::new(
        source.identity.clone(),
        user_agent,
        IpAddr::V4(Ipv4Addr::from(ip)),
        source.reason.clone(),
    );
    w.add_actor(actor)
}

/// Keeps the time of a script: each request starts a little after the previous one ended.
pub(crate) struct Script {
    pub t: i64,
    pub min_gap: i64,
    pub max_gap: i64,
}

impl Script {
    pub(crate) fn typing(at: i64) -> Self {
        Script {
            t: at,
            min_gap: 2 * SECOND,
            max_gap: 25 * SECOND,
        }
    }

    pub(crate) fn automated(at: i64) -> Self {
        Script {
            t: at,
            min_gap: 20 * MILLI,
            max_gap: 300 * MILLI,
        }
    }

    pub(crate) fn send(&mut self, w: &mut World, rng: &mut SimRng, request: Request) {
        self.t = request.completed + rng.gen_range(self.min_gap..self.max_gap);
        w.emit(request);
    }

    /// Sends a request from `actor` at the script's time, shaped by `shape`.
    pub(crate) fn call(
        &mut self,
        w: &mut World,
        rng: &mut SimRng,
        actor: ActorId,
        verb: &'static str,
        shape: impl FnOnce(Request) -> Request,
    ) {
        let request = shape(w.call(rng, actor, verb, self.t));
        self.send(w, rng, request);
    }
}

pub(crate) fn human_actor(w: &World, index: usize) -> ActorId {
    w.humans[index.min(w.humans.len() - 1)].actor
}

pub(crate) fn pod_in_app(w: &World, namespace: &str, app: &str) -> Option<Arc<str>> {
    let app = w.cluster.app_index(namespace, app)?;
    w.cluster.pods_of(app).next().map(|p| p.name.clone())
}
