//! Turns a request into what the profiles count and the signals read: interned keys for every
//! dimension (with their stable hashes), the source network, the response class, the
//! sensitivity of the action.
//!
//! Every derived string (`get pods/exec`, `10.0.0.0/16`) is interned once per distinct input
//! and remembered in small id-keyed caches, so the per-request work is a handful of hash
//! lookups and no allocation.

use std::net::IpAddr;

use crate::baseline::profile::{
    response_class, Dim, DistinctDim, Observation, DIMS, DISTINCT_DIMS,
};
use crate::baseline::sketch::{pair_hash, stable_hash, IdMap, Key};
use crate::intern::{Interner, Sym};
use crate::model::{Decision, Event};
use crate::scoring::sensitivity::{self, Sensitivity};

/// Microseconds in an hour and a day.
pub const HOUR: i64 = 3_600_000_000;
pub const DAY: i64 = 24 * HOUR;

/// A request, prepared for scoring.
#[derive(Clone, Debug, Default)]
pub struct Prepared {
    pub obs: Observation,
    /// `verb resource/subresource` (or `verb /path`).
    pub action: Sym,
    /// `resource/subresource` or the path.
    pub resource: Sym,
    pub ip: Sym,
    pub network: Sym,
    /// The source address is outside private, loopback and link-local ranges.
    pub public_ip: bool,
    pub sensitivity: Option<Sensitivity>,
    pub error: bool,
    /// 401 or 403.
    pub denied: bool,
}

#[derive(Clone, Copy, Debug)]
struct NetworkInfo {
    network: Sym,
    public: bool,
}

/// Slots of [`HashCache`] (16 bytes each).
const HASH_SLOTS: usize = 4096;

/// The stable hashes of recently used strings: a direct-mapped cache, slot by the string's
/// [`Sym`]. A request's dimensions are hashed about fifteen times; most are the same few
/// hundred verbs, resources, namespaces and clients, so nearly every lookup hits, and a miss
/// hashes the string again. Its size is fixed, however many distinct strings a log holds.
struct HashCache {
    /// `(sym index + 1, hash)`; 0 marks an empty slot.
    slots: Box<[(u64, u64)]>,
}

impl Default for HashCache {
    fn default() -> Self {
        HashCache {
            slots: vec![(0, 0); HASH_SLOTS].into_boxed_slice(),
        }
    }
}

impl std::fmt::Debug for HashCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashCache").finish_non_exhaustive()
    }
}

impl HashCache {
    fn hash(&mut self, interner: &Interner, sym: Sym) -> u64 {
        let tag = u64::from(sym.index()) + 1;
        let index = sym.index() as usize % HASH_SLOTS;
        match self.slots.get_mut(index) {
            Some(&mut (t, h)) if t == tag => h,
            Some(slot) => {
                let h = stable_hash(interner.resolve(sym));
                *slot = (tag, h);
                h
            }
            None => stable_hash(interner.resolve(sym)),
        }
    }
}

/// Caches behind [`Featurizer::prepare`].
#[derive(Debug, Default)]
pub struct Featurizer {
    hashes: HashCache,
    resources: IdMap<(Sym, Sym), Sym>,
    paths: IdMap<Sym, Sym>,
    actions: IdMap<(Sym, Sym), Sym>,
    networks: IdMap<Sym, NetworkInfo>,
    sensitivities: IdMap<(Sym, Sym, Sym, bool), Option<Sensitivity>>,
}

const WRITE_VERBS: &[&str] = &["create", "update", "patch", "delete", "deletecollection"];

impl Featurizer {
    /// The stable hash of an interned string, from a small cache of recent ones.
    pub fn hash(&mut self, interner: &Interner, sym: Sym) -> u64 {
        self.hashes.hash(interner, sym)
    }

    /// The key of a single string with its hash.
    pub fn one(&mut self, interner: &Interner, sym: Sym) -> (Key, u64) {
        (Key::one(sym), self.hash(interner, sym))
    }

    /// The key of a pair with its hash.
    pub fn pair(&mut self, interner: &Interner, a: Sym, b: Sym) -> (Key, u64) {
        let (ha, hb) = (self.hash(interner, a), self.hash(interner, b));
        (Key(a, b), pair_hash(ha, hb))
    }

    fn resource_label(&mut self, interner: &mut Interner, event: &Event) -> Sym {
        if event.non_resource {
            if let Some(&s) = self.paths.get(&event.request_uri) {
                return s;
            }
            let uri = interner.resolve(event.request_uri);
            let path = uri.split('?').next().unwrap_or(uri).to_string();
            let s = interner.intern(&path);
            self.paths.insert(event.request_uri, s);
            return s;
        }
        let key = (event.resource, event.subresource);
        if let Some(&s) = self.resources.get(&key) {
            return s;
        }
        let label = event.resource_label(interner);
        let s = interner.intern(&label);
        self.resources.insert(key, s);
        s
    }

    fn action(&mut self, interner: &mut Interner, verb: Sym, resource: Sym) -> Sym {
        if let Some(&s) = self.actions.get(&(verb, resource)) {
            return s;
        }
        let text = format!("{} {}", interner.resolve(verb), interner.resolve(resource));
        let s = interner.intern(&text);
        self.actions.insert((verb, resource), s);
        s
    }

    fn network(&mut self, interner: &mut Interner, ip: Sym) -> NetworkInfo {
        if let Some(&n) = self.networks.get(&ip) {
            return n;
        }
        let (text, public) = network_of(interner.resolve(ip));
        let info = NetworkInfo {
            network: interner.intern(&text),
            public,
        };
        self.networks.insert(ip, info);
        info
    }

    fn sensitivity(
        &mut self,
        interner: &Interner,
        event: &Event,
        resource: Sym,
    ) -> Option<Sensitivity> {
        if event.non_resource {
            return None;
        }
        let cluster_wide = event.namespace.is_empty();
        let key = (event.verb, resource, event.api_group, cluster_wide);
        if let Some(&s) = self.sensitivities.get(&key) {
            return s;
        }
        let s = sensitivity::classify(
            interner.resolve(event.verb),
            interner.resolve(event.api_group),
            interner.resolve(event.resource),
            interner.resolve(event.subresource),
            cluster_wide,
        );
        self.sensitivities.insert(key, s);
        s
    }

    fn key(&mut self, interner: &Interner, sym: Sym) -> Option<(Key, u64)> {
        (!sym.is_empty()).then(|| self.one(interner, sym))
    }

    fn distinct(&mut self, interner: &Interner, sym: Sym) -> Option<u64> {
        (!sym.is_empty()).then(|| self.hash(interner, sym))
    }

    /// Prepares `event` for scoring into `out`.
    pub fn prepare(&mut self, interner: &mut Interner, event: &Event, out: &mut Prepared) {
        let resource = self.resource_label(interner, event);
        let action = self.action(interner, event.verb, resource);
        let ip = event.source_ip(interner);
        let net = if ip.is_empty() {
            NetworkInfo {
                network: Sym::EMPTY,
                public: false,
            }
        } else {
            self.network(interner, ip)
        };
        let interner: &Interner = interner;
        let sensitivity = self.sensitivity(interner, event, resource);
        let write = WRITE_VERBS.contains(&interner.resolve(event.verb));
        let mut keys: [Option<(Key, u64)>; DIMS] = Default::default();
        keys[Dim::Verb as usize] = self.key(interner, event.verb);
        keys[Dim::Resource as usize] = self.key(interner, resource);
        keys[Dim::Action as usize] = self.key(interner, action);
        keys[Dim::ActionNamespace as usize] = Some(self.pair(interner, action, event.namespace));
        keys[Dim::Namespace as usize] = self.key(interner, event.namespace);
        keys[Dim::ApiGroup as usize] =
            (!event.non_resource).then(|| self.one(interner, event.api_group));
        keys[Dim::SourceIp as usize] = self.key(interner, ip);
        keys[Dim::Network as usize] = self.key(interner, net.network);
        keys[Dim::Client as usize] = self.key(interner, event.client);
        keys[Dim::ClientVersion as usize] = (!event.client.is_empty())
            .then(|| self.pair(interner, event.client, event.client_version));
        keys[Dim::Impersonates as usize] = self.key(interner, event.impersonated_user);
        let mut distinct = [None; DISTINCT_DIMS];
        distinct[DistinctDim::SourceIps as usize] = self.distinct(interner, ip);
        distinct[DistinctDim::Namespaces as usize] = self.distinct(interner, event.namespace);
        distinct[DistinctDim::Resources as usize] = self.distinct(interner, resource);
        distinct[DistinctDim::Names as usize] = self.distinct(interner, event.name);
        *out = Prepared {
            obs: Observation {
                time: event.received,
                keys,
                distinct,
                hour: hour_of(event.received),
                weekday: weekday_of(event.received),
                response: response_class(event.code),
                decision: match event.decision {
                    Decision::Allow => 0,
                    Decision::Forbid => 1,
                    Decision::Unknown => 2,
                },
                write,
                sensitive: sensitivity.is_some(),
            },
            action,
            resource,
            ip,
            network: net.network,
            public_ip: net.public,
            sensitivity,
            error: event.code >= 400,
            denied: event.code == 401 || event.code == 403,
        };
    }
}

/// Hour of day (UTC) of a timestamp.
pub fn hour_of(t: i64) -> u8 {
    (t.div_euclid(HOUR).rem_euclid(24)) as u8
}

/// Day of week (Monday = 0, UTC) of a timestamp.
pub fn weekday_of(t: i64) -> u8 {
    // 1970-01-01 was a Thursday.
    ((t.div_euclid(DAY) + 3).rem_euclid(7)) as u8
}

/// The network an address belongs to, and whether it is public: /16 for private IPv4 (pod
/// and node networks), /24 for public IPv4, /48 for IPv6. Text that is not an address is its
/// own network.
pub fn network_of(ip: &str) -> (String, bool) {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => {
            let o = v4.octets();
            let private = v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || (o[0] == 100 && (64..128).contains(&o[1]));
            if private {
                (format!("{}.{}.0.0/16", o[0], o[1]), false)
            } else {
                (format!("{}.{}.{}.0/24", o[0], o[1], o[2]), true)
            }
        }
        Ok(IpAddr::V6(v6)) => {
            let s = v6.segments();
            let local = v6.is_loopback() || (s[0] & 0xfe00) == 0xfc00 || (s[0] & 0xffc0) == 0xfe80;
            (format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2]), !local)
        }
        Err(_) => (ip.to_string(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_hashes_are_the_strings_hashes() {
        let mut interner = Interner::default();
        let syms: Vec<Sym> = (0..3 * HASH_SLOTS)
            .map(|i| interner.intern(&format!("value-{i}")))
            .collect();
        let mut feat = Featurizer::default();
        // Syms HASH_SLOTS apart share a slot: each evicts the other, several rounds over.
        for _ in 0..3 {
            for &sym in syms.iter().rev() {
                assert_eq!(
                    feat.hash(&interner, sym),
                    stable_hash(interner.resolve(sym))
                );
            }
        }
        assert_eq!(feat.hash(&interner, Sym::EMPTY), stable_hash(""));
    }

    #[test]
    fn networks() {
        assert_eq!(
            network_of("10.244.3.17"),
            ("10.244.0.0/16".to_string(), false)
        );
        assert_eq!(
            network_of("91.203.5.77"),
            ("91.203.5.0/24".to_string(), true)
        );
        assert!(!network_of("::1").1);
        assert_eq!(
            network_of("2001:db8:1:2::5"),
            ("2001:db8:1::/48".to_string(), true)
        );
        assert_eq!(network_of("not-an-ip"), ("not-an-ip".to_string(), false));
    }

    #[test]
    fn clock_arithmetic_matches_chrono() {
        let t = crate::time::parse_rfc3339("2024-05-07T03:10:00Z").unwrap();
        assert_eq!(hour_of(t), crate::time::hour_of_day(t));
        assert_eq!(weekday_of(t), crate::time::day_of_week(t));
        assert_eq!(weekday_of(t), 1);
    }
}
