//! Per-request judgements against the profiles as they stood before the request:
//!
//! - novelty and rarity of each dimension's value, weighed by how diverse the identity
//!   naturally is (Good-Turing: the share of values it used only once estimates how likely a
//!   never-seen value is), blended with its peer group and class while its history is short;
//! - sensitivity of the action, scaled down by how routine it is for the identity;
//! - time outside the identity's usual hours and days;
//! - bursts against its own per-minute rate; storms of 401/403 responses.
//!
//! Each produces [`Signal`]s with the facts `explain` puts into words.

use crate::baseline::profile::{Dim, Profile};
use crate::baseline::sketch::{Key, TopValues};
use crate::identity::{IdentityClass, IdentityKind};
use crate::scoring::features::Prepared;
use crate::scoring::sensitivity::Sensitivity;
use crate::scoring::signals::{Basis, Code, Facts, History, Signal};

/// Per-class weights: the most each kind of surprise adds when it is as sharp as it gets.
#[derive(Clone, Copy, Debug)]
pub struct Priors {
    pub action: f32,
    pub namespace: f32,
    pub network: f32,
    pub ip: f32,
    pub client: f32,
    pub client_version: f32,
    pub api_group: f32,
    pub hours: f32,
}

pub fn priors(class: IdentityClass) -> Priors {
    let p = |action, namespace, network, ip, client, client_version, api_group, hours| Priors {
        action,
        namespace,
        network,
        ip,
        client,
        client_version,
        api_group,
        hours,
    };
    match class {
        IdentityClass::Human => p(0.35, 0.22, 0.25, 0.04, 0.25, 0.04, 0.12, 0.3),
        IdentityClass::ServiceAccount => p(0.45, 0.35, 0.45, 0.08, 0.45, 0.1, 0.2, 0.08),
        // Pods land on any node: a namespace new to one kubelet says little.
        IdentityClass::Node => p(0.45, 0.1, 0.5, 0.1, 0.5, 0.12, 0.2, 0.05),
        IdentityClass::ControlPlane => p(0.5, 0.35, 0.5, 0.1, 0.5, 0.12, 0.2, 0.05),
        IdentityClass::Anonymous => p(0.6, 0.4, 0.05, 0.02, 0.15, 0.05, 0.2, 0.0),
        IdentityClass::Automation => p(0.28, 0.15, 0.2, 0.03, 0.3, 0.05, 0.1, 0.05),
    }
}

/// Requests after which an identity's own history outweighs its peers'.
const OWN_HISTORY: f64 = 30.0;

/// How surprising a value is in one summary.
#[derive(Clone, Copy, Debug, Default)]
pub struct Surprise {
    pub count: u64,
    pub novel: bool,
    pub uncertain: bool,
    /// 0..1.
    pub strength: f32,
}

/// The surprise of `key` in `top`: for a value never seen, from the Good-Turing estimate of a
/// new value (an identity that keeps using new values is not surprised by one more); for a
/// value seen, from its smoothed frequency (only rare values count, and half as much).
pub fn surprise(top: &TopValues, key: Key) -> Surprise {
    let n = top.total() as f64;
    if n == 0.0 {
        return Surprise {
            novel: true,
            ..Surprise::default()
        };
    }
    let count = top.count(key);
    if count > 0 {
        let p = (count as f64 + 0.5) / (n + 1.0);
        let bits = -p.log2();
        return Surprise {
            count,
            novel: false,
            uncertain: false,
            strength: (((bits - 8.0) / 6.0).clamp(0.0, 1.0) * 0.3) as f32,
        };
    }
    let (p, uncertain) = if top.overflowed() {
        ((top.floor() as f64 + 1.0) / (n + 2.0), true)
    } else {
        ((top.singletons() as f64 + 1.0) / (n + 2.0), false)
    };
    let bits = -p.log2();
    Surprise {
        count: 0,
        novel: true,
        uncertain,
        strength: ((bits - 2.0) / 7.0).clamp(0.0, 1.0) as f32,
    }
}

/// The most frequent value of a summary (ties by hash).
pub fn most_used(top: &TopValues) -> Option<Key> {
    top.entries()
        .iter()
        .max_by(|a, b| a.count.cmp(&b.count).then(b.hash.cmp(&a.hash)))
        .map(|e| e.key)
}

/// The surprise of a value for an identity, with its peers (then its class) speaking for it
/// while its own history is short. Returns the blended strength, the basis, and what peers
/// did with the value.
pub fn judged(
    own: &Profile,
    group: &Profile,
    class: &Profile,
    dim: Dim,
    key: Key,
) -> (Surprise, f32, Basis, u64) {
    let mine = surprise(own.dim(dim), key);
    let h = own.requests as f64 / (own.requests as f64 + OWN_HISTORY);
    let basis = if h >= 0.5 { Basis::Own } else { Basis::Peers };
    if !mine.novel && h > 0.97 {
        // A value the identity uses, with a long history: its peers add nothing.
        return (mine, (h * f64::from(mine.strength)) as f32, basis, 0);
    }
    let peers = surprise(group.dim(dim), key);
    // Peers' uses are other identities' when this one never used the value.
    let peer_count = peers.count.saturating_sub(mine.count);
    let gh = group.requests as f64 / (group.requests as f64 + OWN_HISTORY);
    let wider = if gh > 0.97 {
        0.0
    } else {
        f64::from(surprise(class.dim(dim), key).strength)
    };
    let group_strength = gh * f64::from(peers.strength) + (1.0 - gh) * wider;
    let own_strength = match (mine.novel, peer_count) {
        // New for this identity, but its peers do it: much less telling, and the less the
        // more they do it.
        (true, 20..) => f64::from(mine.strength) * 0.15,
        (true, 2..) => f64::from(mine.strength) * 0.35,
        _ => f64::from(mine.strength),
    };
    let strength = h * own_strength + (1.0 - h) * group_strength;
    (mine, strength as f32, basis, peer_count)
}

/// Everything a judgement reads.
pub struct Context<'a> {
    pub own: &'a Profile,
    pub group: &'a Profile,
    pub class_profile: &'a Profile,
    pub class: IdentityClass,
    pub prep: &'a Prepared,
    /// The identity used public source addresses before.
    pub used_public: bool,
    /// The namespace was created (by anyone) within the hour: it is new to everyone.
    pub fresh_namespace: bool,
    /// The request sets up a namespace created within the hour by this identity (or, for
    /// the control plane, by anyone): new actions there are expected.
    pub provisioning: bool,
    /// The actor is a control-plane component or a node.
    pub kind: IdentityKind,
    /// The identity's and its group's hour histograms as of the start of this clock hour, so
    /// that a night session does not make its own hour look usual within minutes.
    pub own_hours: &'a [u64; 24],
    pub group_hours: &'a [u64; 24],
}

/// Requests below which an identity counts as a new member of its peer group.
const NEW_MEMBER: u64 = 30;

impl Context<'_> {
    /// A new member that connects the way its peers do (their client, their network): what
    /// it does is judged more mildly than how it connects.
    fn conforms(&self) -> bool {
        if self.own.requests >= NEW_MEMBER {
            return false;
        }
        let known = |dim: Dim| {
            self.prep.obs.keys[dim as usize].is_some_and(|(k, _)| self.group.count(dim, k) >= 3)
        };
        known(Dim::Client) && known(Dim::Network)
    }
}

/// Novelty and rarity of the request's values.
pub fn value_signals(cx: &Context<'_>, out: &mut Vec<Signal>) {
    let pr = priors(cx.class);
    let keys = &cx.prep.obs.keys;
    let history = History::of(cx.own);
    // What it does weighs less for a conforming new member and while setting up a namespace.
    let mut what = 1.0;
    if cx.conforms() {
        what *= 0.4;
    }
    if cx.provisioning {
        what *= 0.3;
    }
    let push = |dim: Dim, weight: f32, public: bool, out: &mut Vec<Signal>| -> bool {
        let Some((key, _)) = keys[dim as usize] else {
            return false;
        };
        let (mine, strength, basis, peer_count) =
            judged(cx.own, cx.group, cx.class_profile, dim, key);
        // Rarity only tells for what the identity does; a rarely used namespace or client
        // is not suspicious by itself.
        if !mine.novel && dim != Dim::Action {
            return false;
        }
        let mut p = weight * strength;
        if public {
            p = p.max(0.15) + 0.15;
        }
        if p < 0.02 {
            return mine.novel;
        }
        out.push(Signal {
            code: if mine.novel {
                Code::Novel(dim)
            } else {
                Code::Rare(dim)
            },
            p,
            facts: Facts::Value {
                dim,
                key,
                basis,
                history,
                count: mine.count,
                listed: cx.own.dim(dim).entries().len() as u64,
                uncertain: mine.uncertain,
                peer_count,
                public,
                usual: most_used(cx.own.dim(dim)).filter(|u| *u != key),
            },
        });
        mine.novel
    };
    push(Dim::Action, pr.action * what, false, out);
    if !cx.fresh_namespace {
        push(Dim::Namespace, pr.namespace * what, false, out);
    }
    let public = cx.prep.public_ip && !cx.used_public;
    let new_network = push(Dim::Network, pr.network, public, out);
    if !new_network {
        push(Dim::SourceIp, pr.ip, false, out);
    }
    let new_client = push(Dim::Client, pr.client, false, out);
    if !new_client {
        push(Dim::ClientVersion, pr.client_version, false, out);
    }
    push(Dim::ApiGroup, pr.api_group * what, false, out);
}

/// The sensitivity of the action, scaled by how routine it is for the identity (and, while
/// its history is short, for its peers). `before` and `in_namespace` are the identity's
/// settled counts of the action (overall and in this namespace), not counting the last hour.
pub fn sensitive_signal(
    cx: &Context<'_>,
    s: Sensitivity,
    before: u64,
    in_namespace: u64,
    out: &mut Vec<Signal>,
) {
    let keys = &cx.prep.obs.keys;
    let peers = keys[Dim::Action as usize]
        .map_or(0, |(k, _)| cx.group.count(Dim::Action, k))
        .saturating_sub(
            keys[Dim::Action as usize].map_or(0, |(k, _)| cx.own.count(Dim::Action, k)),
        );
    let familiar = |n: u64| n as f32 / (n as f32 + 1.0);
    let h = (cx.own.requests as f64 / (cx.own.requests as f64 + OWN_HISTORY)) as f32;
    // Routine in general but new in this namespace still counts for a third.
    let own_routine = familiar(before) * (0.67 + 0.33 * familiar(in_namespace));
    // What its peers do routinely is less telling, even for an identity with a history.
    let peer_routine = familiar(peers);
    let routine = (h * own_routine + (1.0 - h) * peer_routine).max(0.8 * peer_routine);
    let mut weight = s.weight;
    match cx.kind {
        // The cluster's own machinery approves, mints and cleans up by design; abuse of its
        // credentials shows in where and how they are used.
        IdentityKind::ControlPlane => weight *= 0.25,
        // Kubelets request their own certificates.
        IdentityKind::Node if s.what.contains("certificate signing request") => weight = 0.0,
        _ => {}
    }
    if cx.provisioning && keys[Dim::Namespace as usize].is_some() {
        weight *= 0.2;
    }
    let p = weight * (1.0 - routine);
    if p < 0.02 {
        return;
    }
    out.push(Signal {
        code: Code::Sensitive,
        p,
        facts: Facts::Sensitive {
            what: s.what,
            before,
            in_namespace,
            history: History::of(cx.own),
        },
    });
}

/// Activity outside the identity's usual hours (and days, with a week of history).
pub fn time_signals(cx: &Context<'_>, out: &mut Vec<Signal>) {
    let own = cx.own;
    let pr = priors(cx.class);
    // A new identity keeps its peers' hours until it has some of its own.
    let (reference, basis) = if own.requests >= 20 {
        (own, Basis::Own)
    } else if cx.group.requests >= 100 {
        (cx.group, Basis::Peers)
    } else {
        return;
    };
    if reference.span_days() < 0.5 || pr.hours == 0.0 {
        return;
    }
    let hour = cx.prep.obs.hour;
    // Peers' hours without the identity's own few requests, which would soon make any hour
    // look usual.
    let mut hours = *cx.own_hours;
    if basis == Basis::Peers {
        hours = *cx.group_hours;
        for (h, mine) in hours.iter_mut().zip(cx.own_hours) {
            *h = h.saturating_sub(*mine);
        }
    }
    let total: u64 = hours.iter().sum();
    if total < 20 {
        return;
    }
    let share = Profile::share_of_hour(&hours, hour) * 24.0;
    let covered = hours.iter().filter(|&&n| n * 50 >= total).count();
    let off = (1.0 - share / 0.3).clamp(0.0, 1.0) as f32;
    let concentrated = if covered <= 14 { 1.0 } else { 0.3 };
    let p = pr.hours * off * concentrated;
    if p >= 0.05 {
        out.push(Signal {
            code: Code::OffHours,
            p,
            facts: Facts::OffHours {
                hour,
                active: Profile::active_range(&hours, 0.95),
                basis,
                history: History::of(reference),
            },
        });
    }
    let weekday = usize::from(cx.prep.obs.weekday);
    let weekend = own.weekdays[5] + own.weekdays[6];
    if own.days.len() >= 7 && weekday >= 5 && weekend * 200 < own.requests {
        out.push(Signal {
            code: Code::OffDays,
            p: pr.hours * 0.35,
            facts: Facts::OffDays {
                weekday: cx.prep.obs.weekday,
                history: History::of(own),
            },
        });
    }
}

/// A burst: requests in the last minute far above the identity's usual busiest minutes.
pub fn burst_signal(own: &Profile, last_minute: u32, out: &mut Vec<Signal>) {
    if own.requests < 200 {
        return;
    }
    let usual = own.minute_p99();
    let threshold = (usual * 4).max(30);
    if u64::from(last_minute) < threshold {
        return;
    }
    let ratio = f64::from(last_minute) / threshold as f64;
    let p = (0.15 + 0.1 * ratio.log2()).min(0.4) as f32;
    out.push(Signal {
        code: Code::Burst,
        p,
        facts: Facts::Burst {
            last_minute,
            usual_peak: usual,
        },
    });
}

/// A storm of 401/403 responses, against how often the identity is usually denied.
/// `recent` is (denied, all) requests in the last five minutes; `hour` the same over the last
/// hour, left out of the identity's usual share so a storm does not excuse itself.
pub fn denied_signal(own: &Profile, recent: (u32, u32), hour: (u32, u32), out: &mut Vec<Signal>) {
    let (recent_denied, recent_all) = recent;
    if recent_denied < 5 {
        return;
    }
    let denied_before = (own.responses[4] + own.responses[5]).saturating_sub(u64::from(hour.0));
    let requests_before = own.requests.saturating_sub(u64::from(hour.1));
    let usual_share = (denied_before as f64 + 1.0) / (requests_before as f64 + 20.0);
    let expected = usual_share * f64::from(recent_all);
    if f64::from(recent_denied) < 3.0 * expected {
        return;
    }
    let p = (0.2 + 0.1 * (f64::from(recent_denied) / 5.0).log2()).min(0.6) as f32;
    out.push(Signal {
        code: Code::DeniedStorm,
        p,
        facts: Facts::DeniedStorm {
            recent: recent_denied,
            minutes: 5,
            before: denied_before,
            history: History {
                requests: requests_before,
                days: own.span_days(),
            },
        },
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::sketch::stable_hash;
    use crate::intern::Interner;

    fn top_with(interner: &mut Interner, values: &[(&str, u64)]) -> TopValues {
        let mut top = TopValues::new(64);
        for (text, n) in values {
            top.add_n(Key::one(interner.intern(text)), stable_hash(text), *n);
        }
        top
    }

    #[test]
    fn diverse_identities_are_not_surprised_by_one_more_value() {
        let mut i = Interner::default();
        let steady = top_with(&mut i, &[("10.0.0.1", 4000), ("10.0.0.2", 120)]);
        let new = Key::one(i.intern("91.203.5.77"));
        let sharp = surprise(&steady, new);
        assert!(sharp.novel && sharp.strength > 0.9, "{sharp:?}");
        let many: Vec<(String, u64)> = (0..60).map(|n| (format!("10.1.0.{n}"), 1)).collect();
        let many: Vec<(&str, u64)> = many.iter().map(|(s, n)| (s.as_str(), *n)).collect();
        let diverse = top_with(&mut i, &many);
        let dull = surprise(&diverse, new);
        assert!(dull.novel && dull.strength < 0.1, "{dull:?}");
    }

    #[test]
    fn a_storm_does_not_excuse_itself() {
        let mut own = Profile {
            requests: 110,
            ..Profile::default()
        };
        own.responses[5] = 8;
        let mut out = Vec::new();
        // All eight denials came in the last hour, with ten of the requests: a storm.
        denied_signal(&own, (8, 10), (8, 10), &mut out);
        assert_eq!(out.len(), 1);
        // The same eight spread over its history: one more is not.
        out.clear();
        own.responses[5] = 400;
        own.requests = 500;
        denied_signal(&own, (8, 10), (8, 10), &mut out);
        assert!(out.is_empty());
    }
}
