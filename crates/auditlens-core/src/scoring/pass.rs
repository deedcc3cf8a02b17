//! The scoring pass: requests in time order, each judged against the profiles as they stood
//! before it and then counted into them; afterwards the window model and the fleet check
//! revise the candidates.

use crate::baseline::profile::{bump, log_bin, Dim};
use crate::baseline::sketch::{IdMap, Key};
use crate::baseline::{Baseline, Model};
use crate::detection::RuleHit;
use crate::identity::{self, Behaviour, IdentityClass, IdentityKind};
use crate::intern::{Interner, Sym};
use crate::model::{Decision, Event};
use crate::scoring::features::{self, Featurizer, Prepared, HOUR};
use crate::scoring::judge::{self, Context};
use crate::scoring::live::{FreshNamespaces, Live};
use crate::scoring::signals::{self, Code, Facts, History, Routine, Signal};
use crate::scoring::window::{WindowInput, WindowRecord};
use crate::scoring::{rule_weight, sensitivity, Candidate, Inputs};
use crate::time::Micros;

/// Requests kept as candidates after the pass (their signals may still change).
const CANDIDATE_P: f32 = 0.12;

/// The longest learning period without a baseline.
const MAX_LEARNING: Micros = 24 * HOUR;

/// Dimensions in which a fleet-wide change is recognised.
pub(super) const FLEET_DIMS: [Dim; 6] = [
    Dim::Client,
    Dim::ClientVersion,
    Dim::Action,
    Dim::Resource,
    Dim::ApiGroup,
    Dim::Network,
];

/// Earlier hits that make a rule familiar for an identity, or routine for its peers.
const ROUTINE_OWN: u64 = 1;
const ROUTINE_PEERS: u64 = 5;

/// Requests below which an identity's peers decide what is routine for it.
const NEW_MEMBER: u64 = 30;

/// Identities profiled one by one; past this, new ones share one profile, so that a log of
/// millions of distinct usernames cannot exhaust memory (a profile is a few kilobytes).
pub const MAX_IDENTITIES: usize = 50_000;

/// The shared identity of those beyond [`MAX_IDENTITIES`].
const BEYOND_LIMIT: &str = "(identities beyond the first 50,000)";

/// Peers' first uses of a value new to their group: `(identity, time)`.
pub(super) type Adoptions = IdMap<(Sym, Dim, Key), Vec<(u32, Micros)>>;

/// What the pass knows about the request being scored, besides the request.
struct Situation {
    id: u32,
    /// The request's place in the pass.
    index: u32,
    scored: bool,
    fresh_namespace: bool,
    /// Set when the request sets up a namespace created within the hour: by whom, how long
    /// ago.
    provisioning: Option<(u32, Micros)>,
    last_minute: u32,
    denied: u32,
    all: u32,
    /// Denied and all requests in the last hour, before this one.
    denied_hour: u32,
    all_hour: u32,
}

pub(crate) struct Scorer {
    pub(super) model: Model,
    pub(super) feat: Featurizer,
    pub(super) live: Vec<Live>,
    pub(super) fresh: FreshNamespaces,
    pub(super) windows: Vec<WindowRecord>,
    pub(super) candidates: Vec<Candidate>,
    pub(super) adoptions: Adoptions,
    pub(super) request_identity: Vec<u32>,
    pub(super) learning_end: Micros,
    pub(super) public_networks: IdMap<Sym, bool>,
    /// Whether what only hindsight uses is kept: the closed windows, each request's identity
    /// and first uses of values (for the window model and the fleet check after the pass).
    /// Judging requests as they arrive keeps none of it, so that memory stays flat.
    pub(super) hindsight: bool,
}

impl Scorer {
    /// A scorer for a whole log: without a baseline, the first half of its span (at most a
    /// day) only teaches.
    pub(crate) fn new(inputs: &Inputs<'_>, interner: &mut Interner) -> Self {
        let learning_end = match (
            inputs.baseline,
            inputs.requests.first(),
            inputs.requests.last(),
        ) {
            (None, Some(first), Some(last)) => first.received.saturating_add(
                (last.received.saturating_sub(first.received) / 2).min(MAX_LEARNING),
            ),
            _ => Micros::MIN,
        };
        let mut scorer = Scorer::starting(inputs.baseline, learning_end, interner);
        scorer.request_identity.reserve(inputs.requests.len());
        scorer
    }

    /// A scorer that starts from `baseline` and judges requests from `learning_end` on.
    pub(crate) fn starting(
        baseline: Option<&Baseline>,
        learning_end: Micros,
        interner: &mut Interner,
    ) -> Self {
        let model = baseline.map_or_else(Model::default, |b| b.model_in(interner));
        Scorer {
            live: vec![Live::default(); model.identities.len()],
            model,
            feat: Featurizer::default(),
            fresh: FreshNamespaces::default(),
            windows: Vec::new(),
            candidates: Vec::new(),
            adoptions: Adoptions::default(),
            request_identity: Vec::new(),
            learning_end,
            public_networks: IdMap::default(),
            hindsight: true,
        }
    }

    /// Moves every string it refers to into a fresh interner `to` (from `from`), for a
    /// scorer that runs on and on (see [`crate::scoring::online`]); its caches start afresh.
    /// `t` is the time of the latest request.
    pub(crate) fn move_to(&mut self, from: &Interner, to: &mut Interner, t: Micros) {
        self.model = self.model.rekeyed(from, to);
        let mut mover = from.mover(to);
        let mut f = |sym: Sym| mover.sym(sym);
        for live in &mut self.live {
            live.map_syms(&mut f);
        }
        self.fresh = self.fresh.moved(t, &mut f);
        self.feat = Featurizer::default();
        self.public_networks = IdMap::default();
        self.adoptions = Adoptions::default();
        self.candidates.clear();
        self.windows.clear();
    }

    pub(crate) fn into_parts(self) -> (Model, Vec<Candidate>) {
        (self.model, self.candidates)
    }

    /// The identity record of the request's actor, created on first sight.
    fn identity(&mut self, event: &Event, interner: &mut Interner) -> u32 {
        let mut user = event.user;
        if let Some(index) = self.model.identity(user) {
            return index;
        }
        if self.model.identities.len() >= MAX_IDENTITIES {
            user = interner.intern(BEYOND_LIMIT);
            if let Some(index) = self.model.identity(user) {
                return index;
            }
        }
        let name = interner.resolve(user).to_string();
        let groups: Vec<&str> = interner
            .list(event.groups)
            .iter()
            .map(|&g| interner.resolve(g))
            .collect();
        let kind = identity::kind_of(&name, &groups);
        let group_name = identity::peer_group(&name, kind, &groups);
        let class = identity::infer_class(&name, kind, &Behaviour::default());
        let group = interner.intern(&group_name);
        self.model.group(group);
        let index = self.model.add_identity(user, kind, class, group);
        self.live.push(Live::default());
        index
    }

    fn is_public_network(&mut self, interner: &Interner, network: Sym) -> bool {
        if let Some(&p) = self.public_networks.get(&network) {
            return p;
        }
        let text = interner.resolve(network);
        let public = features::network_of(text.split('/').next().unwrap_or("")).1;
        self.public_networks.insert(network, public);
        public
    }

    /// Scores every request of `inputs`, in their (time) order.
    pub(crate) fn pass(&mut self, inputs: &Inputs<'_>, interner: &mut Interner) {
        let mut prep = Prepared::default();
        let mut signals: Vec<Signal> = Vec::new();
        for (index, event) in inputs.requests.iter().enumerate() {
            let hits = inputs
                .rule_hits
                .get(&event.audit_id)
                .map_or(&[][..], Vec::as_slice);
            self.step(interner, index as u32, event, hits, &mut prep, &mut signals);
        }
        for id in 0..self.live.len() {
            self.flush(id as u32);
        }
    }

    /// Judges one request (the `index`th) against the profiles as they stand, then counts it
    /// into them; a request that may become a finding joins the candidates. `hits` are the
    /// detection rules it matched; `prep` and `signals` are reused buffers.
    pub(crate) fn step(
        &mut self,
        interner: &mut Interner,
        index: u32,
        event: &Event,
        hits: &[RuleHit],
        prep: &mut Prepared,
        signals: &mut Vec<Signal>,
    ) {
        let id = self.identity(event, interner);
        self.feat.prepare(interner, event, prep);
        let t = event.received;
        let kind = self
            .model
            .identities
            .get(id as usize)
            .map_or(IdentityKind::User, |r| r.kind);
        let fresh = self.fresh.get(event.namespace, t);
        let Some(live) = self.live.get_mut(id as usize) else {
            return;
        };
        live.expire(t);
        // The hour's counts before this request (it is not in the profile yet either).
        live.denied_hour.add_n(t, 0);
        live.all_hour.add_n(t, 0);
        let (denied_hour, all_hour) = (live.denied_hour.sum(), live.all_hour.sum());
        live.last_minute.add(t);
        live.all.add(t);
        live.all_hour.add(t);
        if prep.denied {
            live.denied.add(t);
            live.denied_hour.add(t);
        }
        let situation = Situation {
            id,
            index,
            scored: t >= self.learning_end,
            fresh_namespace: fresh.is_some(),
            provisioning: fresh
                .filter(|&(creator, _)| creator == id || kind == IdentityKind::ControlPlane),
            last_minute: live.last_minute.sum(),
            denied: live.denied.sum(),
            all: live.all.sum(),
            denied_hour,
            all_hour,
        };
        signals.clear();
        if situation.scored {
            self.judge(interner, event, prep, &situation, signals);
            self.session(t, prep, id, signals);
        }
        self.rules(interner, event, hits, prep, &situation, signals);
        if let (Some((creator, ago)), false) = (situation.provisioning, signals.is_empty()) {
            let creator = self
                .model
                .identities
                .get(creator as usize)
                .map_or(Sym::EMPTY, |r| r.user);
            signals.push(Signal {
                code: Code::Provisioning,
                p: 0.0,
                facts: Facts::Provisioning {
                    namespace: event.namespace,
                    creator,
                    minutes: ago / 60_000_000,
                },
            });
        }
        // New values while setting up a namespace are expected, not part of a sweep.
        let novel = if situation.provisioning.is_some() {
            0
        } else {
            signals
                .iter()
                .filter(|s| matches!(s.code, Code::Novel(_)) && s.p >= 0.1)
                .count() as u32
        };
        if situation.scored && self.hindsight {
            self.record_adoptions(id, t, prep);
        }
        self.observe(interner, event, hits, prep, &situation, novel);
        let has_rule = signals.iter().any(|s| s.code == Code::Rule);
        if has_rule || signals::combine(signals) >= CANDIDATE_P {
            self.candidates.push(Candidate {
                request: index,
                identity: id,
                signals: signals.clone(),
            });
        }
        if self.hindsight {
            self.request_identity.push(id);
        }
    }

    fn judge(
        &mut self,
        interner: &Interner,
        event: &Event,
        prep: &Prepared,
        at: &Situation,
        out: &mut Vec<Signal>,
    ) {
        let id = at.id as usize;
        // Networks the identity used (and, while it is new, its peers).
        let mut networks: Vec<Sym> = Vec::new();
        if let (Some(r), true) = (self.model.identities.get(id), prep.public_ip) {
            let mut add = |p: &crate::baseline::Profile| {
                networks.extend(p.dim(Dim::Network).entries().iter().map(|e| e.key.0));
            };
            add(&r.profile);
            if r.profile.requests < NEW_MEMBER {
                if let Some(g) = self
                    .model
                    .find_group(r.group)
                    .and_then(|g| self.model.groups.get(g as usize))
                {
                    add(&g.profile);
                }
            }
        }
        let used_public = networks
            .into_iter()
            .any(|n| self.is_public_network(interner, n));
        let group = self
            .model
            .identities
            .get(id)
            .and_then(|r| self.model.find_group(r.group))
            .and_then(|g| self.model.groups.get(g as usize))
            .map(|g| &g.profile);
        let (Some(record), Some(live)) = (self.model.identities.get(id), self.live.get_mut(id))
        else {
            return;
        };
        let clock_hour = event.received.div_euclid(HOUR);
        if live.hours_at != clock_hour {
            live.hours_at = clock_hour;
            live.own_hours = record.profile.hours;
            live.group_hours = group.map_or([0; 24], |g| g.hours);
        }
        let live = &*live;
        let own = &record.profile;
        let (Some(group), Some(class_profile)) =
            (group, self.model.classes.get(record.class.index()))
        else {
            return;
        };
        if own.requests == 0 {
            out.push(Signal {
                code: Code::NewIdentity,
                p: 0.05,
                facts: Facts::NewIdentity {
                    group: record.group,
                    members: self.model.group_members(record.group),
                    class: record.class,
                },
            });
        }
        let cx = Context {
            own,
            group,
            class_profile,
            class: record.class,
            prep,
            used_public,
            fresh_namespace: at.fresh_namespace,
            provisioning: at.provisioning.is_some(),
            kind: record.kind,
            own_hours: &live.own_hours,
            group_hours: &live.group_hours,
        };
        judge::value_signals(&cx, out);
        if let Some(s) = prep.sensitivity {
            let settled = |dim: Dim| {
                prep.obs.keys[dim as usize].map_or(0, |(k, _)| live.settled(own, dim, k))
            };
            let (before, in_namespace) = (settled(Dim::Action), settled(Dim::ActionNamespace));
            judge::sensitive_signal(&cx, s, before, in_namespace, out);
        }
        judge::time_signals(&cx, out);
        judge::burst_signal(own, at.last_minute, out);
        if prep.denied {
            judge::denied_signal(own, (at.denied, at.all), (at.denied_hour, at.all_hour), out);
        }
        if !event.impersonated_user.is_empty() {
            impersonation(interner, event, own, out);
        }
        if record.class == IdentityClass::Anonymous
            && event.decision != Decision::Forbid
            && (200..400).contains(&event.code)
            && !(event.non_resource && sensitivity::public_path(interner.resolve(prep.resource)))
        {
            let before = prep.obs.keys[Dim::Action as usize]
                .map_or(0, |(k, _)| live.settled(own, Dim::Action, k));
            let p = 0.55 * (1.0 - before as f32 / (before as f32 + 2.0));
            if p >= 0.02 {
                out.push(Signal {
                    code: Code::AnonymousAllowed,
                    p,
                    facts: Facts::AnonymousAllowed { before },
                });
            }
        }
    }

    /// Requests from a source network that was new for the identity within the hour, on a
    /// flagged request, carry some of that first request's suspicion.
    fn session(&mut self, t: Micros, prep: &Prepared, id: u32, out: &mut Vec<Signal>) {
        let Some(live) = self.live.get_mut(id as usize) else {
            return;
        };
        let first = out
            .iter()
            .find(|s| s.code == Code::Novel(Dim::Network) && s.p >= 0.1);
        if let Some(first) = first {
            live.new_networks
                .push((prep.network, t, prep.public_ip, (first.p * 0.6).min(0.25)));
            return;
        }
        if let Some(&(network, since, public, p)) =
            live.new_networks.iter().find(|&&(n, ..)| n == prep.network)
        {
            out.push(Signal {
                code: Code::NewNetworkSession,
                p,
                facts: Facts::NewNetworkSession {
                    network,
                    minutes: t.saturating_sub(since) / 60_000_000,
                    public,
                },
            });
        }
    }

    /// Rule hits become signals; the identity's baseline (or its peers', while it is new)
    /// says whether they are routine.
    fn rules(
        &mut self,
        interner: &mut Interner,
        event: &Event,
        hits: &[RuleHit],
        prep: &Prepared,
        at: &Situation,
        out: &mut Vec<Signal>,
    ) {
        if hits.is_empty() {
            return;
        }
        let id = at.id as usize;
        let (Some(record), Some(live)) = (self.model.identities.get(id), self.live.get(id)) else {
            return;
        };
        let group = self
            .model
            .find_group(record.group)
            .and_then(|g| self.model.groups.get(g as usize));
        // The control plane acting the way it always connects is the cluster's own machinery.
        let usual = |dim: Dim| {
            let reference = if record.profile.requests >= NEW_MEMBER {
                Some(&record.profile)
            } else {
                group.map(|g| &g.profile)
            };
            prep.obs.keys[dim as usize]
                .is_some_and(|(k, _)| reference.is_some_and(|p| p.count(dim, k) >= 3))
        };
        let machinery =
            record.kind == IdentityKind::ControlPlane && usual(Dim::Client) && usual(Dim::Network);
        for hit in hits {
            let key = Key::one(interner.intern(hit.rule));
            let own = live.settled(&record.profile, Dim::Rule, key);
            let peers = group.map_or(0, |g| g.profile.count(Dim::Rule, key));
            let routine = if own >= ROUTINE_OWN {
                Routine::Own(own)
            } else if record.profile.requests < NEW_MEMBER && peers >= ROUTINE_PEERS {
                Routine::Peers(peers)
            } else if at.provisioning.is_some() && !event.namespace.is_empty() {
                Routine::Provisioning
            } else if machinery {
                Routine::Machinery
            } else {
                Routine::No
            };
            out.push(Signal {
                code: Code::Rule,
                p: rule_weight(hit.severity, routine),
                facts: Facts::Rule {
                    rule: hit.rule,
                    severity: hit.severity,
                    message: hit.message.clone(),
                    routine,
                },
            });
        }
    }

    /// Remembers first uses of values new to the identity, where the value is new to its peer
    /// group or other peers adopted it recently, for the fleet check.
    fn record_adoptions(&mut self, id: u32, t: Micros, prep: &Prepared) {
        let Some(record) = self.model.identities.get(id as usize) else {
            return;
        };
        let group_sym = record.group;
        let group = self
            .model
            .find_group(group_sym)
            .and_then(|g| self.model.groups.get(g as usize));
        for dim in FLEET_DIMS {
            let Some((key, _)) = prep.obs.keys[dim as usize] else {
                continue;
            };
            if record.profile.count(dim, key) > 0 {
                continue;
            }
            let new_to_group = group.is_none_or(|g| g.profile.count(dim, key) == 0);
            let slot = (group_sym, dim, key);
            match self.adoptions.get_mut(&slot) {
                Some(list) if !list.iter().any(|&(i, _)| i == id) => list.push((id, t)),
                Some(_) => {}
                None if new_to_group => {
                    self.adoptions.insert(slot, vec![(id, t)]);
                }
                None => {}
            }
        }
    }

    fn observe(
        &mut self,
        interner: &mut Interner,
        event: &Event,
        hits: &[RuleHit],
        prep: &Prepared,
        at: &Situation,
        novel: u32,
    ) {
        let (id, index) = (at.id, at.index);
        let t = event.received;
        let rule_keys: Vec<(Key, u64)> = hits
            .iter()
            .map(|h| {
                let sym = interner.intern(h.rule);
                self.feat.one(interner, sym)
            })
            .collect();
        let Some(record) = self.model.identities.get_mut(id as usize) else {
            return;
        };
        let (group_sym, class) = (record.group, record.class);
        record.profile.observe(&prep.obs);
        for &(key, hash) in &rule_keys {
            record.profile.observe_rule(key, hash);
        }
        let requests = record.profile.requests;
        if let Some(g) = self.model.find_group(group_sym) {
            if let Some(group) = self.model.groups.get_mut(g as usize) {
                group.profile.observe(&prep.obs);
                for &(key, hash) in &rule_keys {
                    group.profile.observe_rule(key, hash);
                }
            }
        }
        if let Some(class_profile) = self.model.classes.get_mut(class.index()) {
            class_profile.observe(&prep.obs);
        }
        if prep.obs.write
            && event.code < 300
            && interner.resolve(event.resource) == "namespaces"
            && interner.resolve(event.verb) == "create"
        {
            self.fresh.created(event.name, id, t);
        }
        let Some(live) = self.live.get_mut(id as usize) else {
            return;
        };
        for &(key, _) in &rule_keys {
            live.remember(Dim::Rule, key, t);
        }
        if prep.sensitivity.is_some() || event.impersonated_user != Sym::EMPTY {
            for dim in [Dim::Action, Dim::ActionNamespace] {
                if let Some((key, _)) = prep.obs.keys[dim as usize] {
                    live.remember(dim, key, t);
                }
            }
        }
        let minute = t.div_euclid(60_000_000);
        let mut closed_minute = 0;
        if minute != live.minute {
            closed_minute = live.minute_count;
            live.minute = minute;
            live.minute_count = 0;
        }
        live.minute_count += 1;
        let input = WindowInput {
            index,
            time: t,
            resource: prep.resource,
            namespace: event.namespace,
            name: event.name,
            error: prep.error,
            denied: prep.denied,
            write: prep.obs.write,
            sensitive: prep.sensitivity.is_some(),
            novel,
            // A new identity's first windows (start-up) say nothing about its habits yet.
            scored: at.scored && requests > NEW_MEMBER,
        };
        let closed = live.window.add(id, &input);
        let reclassify = requests >= live.next_class_check;
        if reclassify {
            live.next_class_check = requests * 4;
        }
        if let Some(r) = self.model.identities.get_mut(id as usize) {
            if closed_minute > 0 {
                bump(&mut r.profile.per_minute[log_bin(closed_minute)]);
            }
            if reclassify {
                let behaviour = r.profile.behaviour(interner);
                r.class = identity::infer_class(interner.resolve(r.user), r.kind, &behaviour);
            }
        }
        if let Some(closed) = closed {
            self.close_window(closed);
        }
    }

    fn close_window(&mut self, record: WindowRecord) {
        if let Some(r) = self.model.identities.get_mut(record.identity as usize) {
            r.profile.windows.add(&record.features);
            if let Some(c) = self.model.classes.get_mut(r.class.index()) {
                c.windows.add(&record.features);
            }
        }
        if self.hindsight {
            self.windows.push(record);
        }
    }

    fn flush(&mut self, id: u32) {
        let Some(live) = self.live.get_mut(id as usize) else {
            return;
        };
        let closed = live.window.close(id);
        let minute_count = std::mem::take(&mut live.minute_count);
        if minute_count > 0 {
            if let Some(r) = self.model.identities.get_mut(id as usize) {
                bump(&mut r.profile.per_minute[log_bin(minute_count)]);
            }
        }
        if let Some(closed) = closed {
            self.close_window(closed);
        }
    }
}

/// Impersonation: whom the actor became, whether that identity is privileged, and whether the
/// actor does this routinely.
fn impersonation(
    interner: &Interner,
    event: &Event,
    own: &crate::baseline::Profile,
    out: &mut Vec<Signal>,
) {
    let key = Key::one(event.impersonated_user);
    let before = own.count(Dim::Impersonates, key);
    let any_before = own.dim(Dim::Impersonates).total();
    let groups: Vec<&str> = interner
        .list(event.impersonated_groups)
        .iter()
        .map(|&g| interner.resolve(g))
        .collect();
    let privileged =
        sensitivity::privileged_identity(interner.resolve(event.impersonated_user), &groups);
    let unfamiliar = 1.0 - before as f32 / (before as f32 + 2.0);
    let p = unfamiliar * if privileged { 0.6 } else { 0.3 };
    if p >= 0.02 {
        out.push(Signal {
            code: Code::Impersonation,
            p,
            facts: Facts::Impersonation {
                target: event.impersonated_user,
                privileged,
                before,
                any_before,
                history: History::of(own),
            },
        });
    }
}
