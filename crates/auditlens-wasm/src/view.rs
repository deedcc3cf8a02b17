//! The shapes the page draws, built from a finished [`Analysis`].
//!
//! The page never holds the requests themselves (a 2 GB log has millions); it asks the worker
//! for what one screen shows, and the worker asks this module:
//!
//! ```text
//! Analysis::requests() ─▶ Overview (timeline, top identities)   once, after finish
//!                     ─▶ RequestRow (one request, with its byte range in its file)
//!                     ─▶ neighbours (the identity's requests around one)
//!                     ─▶ IdentityActivity (what one identity did: counts, hours, rate)
//! ```
//!
//! Everything here is a plain conversion or a count over the core's data; the results are serde
//! types that `lib.rs` hands to JavaScript as JSON, one call per view. Ordering never depends on
//! hash-map iteration, so the same input gives the same JSON natively and in wasm.

use std::collections::{BTreeMap, HashMap};

use auditlens_core::time::{day_of_week, format_rfc3339, hour_of_day, parse_rfc3339, Micros};
use auditlens_core::{Analysis, Event, Sym};
use serde::Serialize;

/// At most this many buckets in a timeline: enough for a chart as wide as a screen.
pub const TIMELINE_BUCKETS: i64 = 240;

/// Bucket widths a timeline may use, in seconds: round numbers a person reads at a glance.
const BUCKET_SECONDS: [i64; 14] = [
    1, 5, 10, 30, 60, 300, 600, 1800, 3600, 7200, 21600, 43200, 86400, 604800,
];

/// How many values each table of an identity's activity keeps.
pub const TOP_VALUES: usize = 25;

/// One request, as the detail view and the neighbour table show it, with where its raw record
/// lies: `offset` and `len` are bytes of the file's decoded stream (for a gzip file, of the
/// decompressed data, so the page must decompress to re-read it).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestRow {
    /// `null` for a request logged without an auditID; `request` names it then.
    #[serde(rename = "auditID")]
    pub audit_id: Option<String>,
    /// The key that names the request in lookups: its auditID, or `~FILE.OFFSET[.INDEX]`.
    pub request: String,
    pub timestamp: String,
    pub stage: &'static str,
    pub stages: Vec<&'static str>,
    pub user: String,
    pub impersonated_user: String,
    pub identity: String,
    pub groups: Vec<String>,
    pub verb: String,
    pub resource: String,
    pub namespace: String,
    pub name: String,
    pub request_uri: String,
    pub source_ips: Vec<String>,
    pub user_agent: String,
    pub code: u16,
    pub decision: &'static str,
    pub reason: String,
    pub truncated: bool,
    /// Index of the file in the order files were added.
    pub file_index: u32,
    pub file: String,
    pub line: u64,
    pub offset: u64,
    pub len: u32,
}

impl RequestRow {
    pub fn new(analysis: &Analysis, event: &Event) -> Self {
        let interner = analysis.interner();
        let text = |sym: Sym| interner.resolve(sym).to_string();
        let list = |id| interner.list(id).iter().map(|&s| text(s)).collect();
        let stages = [
            auditlens_core::Stage::RequestReceived,
            auditlens_core::Stage::ResponseStarted,
            auditlens_core::Stage::ResponseComplete,
            auditlens_core::Stage::Panic,
        ]
        .into_iter()
        .filter(|s| event.stages_seen & s.bit() != 0)
        .map(auditlens_core::Stage::as_str)
        .collect();
        RequestRow {
            audit_id: event
                .audit_id
                .absent_key()
                .is_none()
                .then(|| interner.audit_id_text(event.audit_id).into_owned()),
            request: interner.request_key(event.audit_id).into_owned(),
            timestamp: format_rfc3339(event.received),
            stage: event.stage.as_str(),
            stages,
            user: text(event.user),
            impersonated_user: text(event.impersonated_user),
            identity: text(event.effective_user()),
            groups: list(event.groups),
            verb: text(event.verb),
            resource: event.resource_label(interner),
            namespace: text(event.namespace),
            name: text(event.name),
            request_uri: text(event.request_uri),
            source_ips: list(event.source_ips),
            user_agent: text(event.user_agent),
            code: event.code,
            decision: match event.decision {
                auditlens_core::Decision::Allow => "allow",
                auditlens_core::Decision::Forbid => "forbid",
                auditlens_core::Decision::Unknown => "",
            },
            reason: text(event.reason),
            truncated: event.truncated,
            file_index: event.source.file,
            file: analysis.file_name(event.source.file).to_string(),
            line: event.source.line,
            offset: event.source.offset,
            len: event.source.len,
        }
    }
}

/// The index of the request with this auditID (or request key), if any.
pub fn find_request(analysis: &Analysis, audit_id: &str) -> Option<usize> {
    let id = analysis.interner().get_audit_id(audit_id)?;
    analysis.requests().iter().position(|e| e.audit_id == id)
}

/// Up to `before` requests of the same identity just before the request at `index`, the
/// request itself, and up to `after` just after it, in time order.
pub fn neighbours(
    analysis: &Analysis,
    index: usize,
    before: usize,
    after: usize,
) -> Vec<RequestRow> {
    let requests = analysis.requests();
    let Some(center) = requests.get(index) else {
        return Vec::new();
    };
    let who = center.effective_user();
    let mut earlier: Vec<&Event> = requests[..index]
        .iter()
        .rev()
        .filter(|e| e.effective_user() == who)
        .take(before)
        .collect();
    earlier.reverse();
    let later = requests[index + 1..]
        .iter()
        .filter(|e| e.effective_user() == who)
        .take(after);
    earlier
        .into_iter()
        .chain(std::iter::once(center))
        .chain(later)
        .map(|e| RequestRow::new(analysis, e))
        .collect()
}

/// Time buckets shared by every series of one analysis, so an identity's rate lines up with
/// the overall timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Buckets {
    /// Start of the first bucket, in milliseconds since the Unix epoch.
    pub start_ms: i64,
    /// Width of a bucket, in milliseconds.
    pub step_ms: i64,
    pub count: usize,
}

impl Buckets {
    /// The buckets covering `first..=last` (microseconds), at a round width.
    pub fn covering(first: Micros, last: Micros) -> Buckets {
        let span_s = ((last - first).max(0) / 1_000_000) + 1;
        let step_s = BUCKET_SECONDS
            .into_iter()
            .find(|&s| span_s / s < TIMELINE_BUCKETS)
            .unwrap_or(BUCKET_SECONDS[BUCKET_SECONDS.len() - 1]);
        let step_us = step_s * 1_000_000;
        let start = first.div_euclid(step_us) * step_us;
        let count = ((last - start).div_euclid(step_us) + 1).clamp(1, TIMELINE_BUCKETS * 2);
        Buckets {
            start_ms: start / 1000,
            step_ms: step_s * 1000,
            count: count as usize,
        }
    }

    /// The bucket of a time, if it falls inside.
    pub fn index(&self, time: Micros) -> Option<usize> {
        let offset = time / 1000 - self.start_ms;
        if offset < 0 {
            return None;
        }
        let index = (offset / self.step_ms) as usize;
        (index < self.count).then_some(index)
    }

    fn of_analysis(analysis: &Analysis) -> Option<Buckets> {
        let requests = analysis.requests();
        let first = requests.iter().map(|e| e.received).min()?;
        let last = requests.iter().map(|e| e.received).max()?;
        Some(Buckets::covering(first, last))
    }
}

/// Requests over time, with failures and findings per bucket.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Timeline {
    pub buckets: Buckets,
    pub requests: Vec<u64>,
    /// Requests answered 401 or 403.
    pub denied: Vec<u64>,
    /// Findings of medium severity or above.
    pub findings: Vec<u64>,
}

/// Identities by request count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityCount {
    pub identity: String,
    pub requests: u64,
    pub denied: u64,
}

/// What the overview page draws besides the summary.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Overview {
    pub timeline: Option<Timeline>,
    /// The busiest identities and every identity with a finding, most requests first (ties by
    /// name).
    pub top_identities: Vec<IdentityCount>,
    /// How many identities the core put in each class, most first (ties by name).
    pub classes: Vec<ValueCount>,
}

fn denied(event: &Event) -> bool {
    event.code == 401 || event.code == 403
}

/// The overview of a finished analysis.
pub fn overview(analysis: &Analysis, top: usize) -> Overview {
    let timeline = Buckets::of_analysis(analysis).map(|buckets| {
        let mut timeline = Timeline {
            buckets,
            requests: vec![0; buckets.count],
            denied: vec![0; buckets.count],
            findings: vec![0; buckets.count],
        };
        for event in analysis.requests() {
            if let Some(i) = buckets.index(event.received) {
                timeline.requests[i] += 1;
                timeline.denied[i] += u64::from(denied(event));
            }
        }
        for finding in analysis.findings() {
            let urgent = finding.severity >= auditlens_core::Severity::Medium;
            let bucket = parse_rfc3339(&finding.timestamp).and_then(|t| buckets.index(t));
            if let (true, Some(i)) = (urgent, bucket) {
                timeline.findings[i] += 1;
            }
        }
        timeline
    });
    let mut per_identity: HashMap<Sym, (u64, u64)> = HashMap::new();
    for event in analysis.requests() {
        let entry = per_identity.entry(event.effective_user()).or_default();
        entry.0 += 1;
        entry.1 += u64::from(denied(event));
    }
    let interner = analysis.interner();
    #[allow(clippy::iter_over_hash_type)] // sorted right below
    let mut top_identities: Vec<IdentityCount> = per_identity
        .into_iter()
        .map(|(sym, (requests, denied))| IdentityCount {
            identity: interner.resolve(sym).to_string(),
            requests,
            denied,
        })
        .collect();
    top_identities.sort_by(|a, b| {
        b.requests
            .cmp(&a.requests)
            .then_with(|| a.identity.cmp(&b.identity))
    });
    // The busiest `top`, and every identity with a finding, so that risk tables show counts.
    let flagged: std::collections::BTreeSet<&str> = analysis
        .findings()
        .iter()
        .map(|f| f.identity.as_str())
        .collect();
    let mut rank = 0;
    top_identities.retain(|entry| {
        rank += 1;
        rank <= top || flagged.contains(entry.identity.as_str())
    });
    let mut classes = Tally::default();
    for profile in analysis.identity_profiles() {
        classes.add(&profile.class);
    }
    Overview {
        timeline,
        top_identities,
        classes: classes.top(usize::MAX),
    }
}

/// One value of an activity table and how many requests had it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ValueCount {
    pub value: String,
    pub count: u64,
}

/// What one identity did in the analysed logs: the observed activity behind its profile.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityActivity {
    pub identity: String,
    pub requests: u64,
    pub denied: u64,
    pub first: Option<String>,
    pub last: Option<String>,
    /// The actors behind it, when it was impersonated.
    pub actors: Vec<ValueCount>,
    pub groups: Vec<String>,
    pub verbs: Vec<ValueCount>,
    pub resources: Vec<ValueCount>,
    pub verb_resources: Vec<ValueCount>,
    pub namespaces: Vec<ValueCount>,
    pub source_ips: Vec<ValueCount>,
    pub clients: Vec<ValueCount>,
    pub codes: Vec<ValueCount>,
    /// Requests by day of week (Monday first) and hour of day, UTC: 7 rows of 24.
    pub hour_of_week: Vec<Vec<u64>>,
    /// Requests per bucket of the analysis' timeline.
    pub rate: Option<Timeline>,
}

#[derive(Default)]
struct Tally(BTreeMap<String, u64>);

impl Tally {
    fn add(&mut self, value: &str) {
        let value = if value.is_empty() { "(none)" } else { value };
        match self.0.get_mut(value) {
            Some(count) => *count += 1,
            None => {
                self.0.insert(value.to_string(), 1);
            }
        }
    }

    fn top(self, n: usize) -> Vec<ValueCount> {
        let mut counts: Vec<ValueCount> = self
            .0
            .into_iter()
            .map(|(value, count)| ValueCount { value, count })
            .collect();
        // Stable sort: equal counts stay in name order.
        counts.sort_by_key(|c| std::cmp::Reverse(c.count));
        counts.truncate(n);
        counts
    }
}

/// The activity of one identity (an effective user name), or `None` when it made no request.
pub fn identity_activity(analysis: &Analysis, identity: &str) -> Option<IdentityActivity> {
    let interner = analysis.interner();
    let who = interner.get(identity)?;
    let buckets = Buckets::of_analysis(analysis)?;
    let mut rate = Timeline {
        buckets,
        requests: vec![0; buckets.count],
        denied: vec![0; buckets.count],
        findings: vec![0; buckets.count],
    };
    let (mut actors, mut verbs, mut resources, mut verb_resources) = (
        Tally::default(),
        Tally::default(),
        Tally::default(),
        Tally::default(),
    );
    let (mut namespaces, mut ips, mut clients, mut codes) = (
        Tally::default(),
        Tally::default(),
        Tally::default(),
        Tally::default(),
    );
    let mut groups = std::collections::BTreeSet::new();
    let mut hour_of_week = vec![vec![0u64; 24]; 7];
    let (mut requests, mut denied_count) = (0u64, 0u64);
    let (mut first, mut last) = (Micros::MAX, Micros::MIN);
    for event in analysis
        .requests()
        .iter()
        .filter(|e| e.effective_user() == who)
    {
        requests += 1;
        denied_count += u64::from(denied(event));
        first = first.min(event.received);
        last = last.max(event.received);
        if !event.impersonated_user.is_empty() {
            actors.add(interner.resolve(event.user));
        }
        let group_list = if event.impersonated_user.is_empty() {
            event.groups
        } else {
            event.impersonated_groups
        };
        groups.extend(
            interner
                .list(group_list)
                .iter()
                .map(|&g| interner.resolve(g)),
        );
        let verb = interner.resolve(event.verb);
        let resource = event.resource_label(interner);
        verbs.add(verb);
        verb_resources.add(&format!("{verb} {resource}"));
        resources.add(&resource);
        namespaces.add(match interner.resolve(event.namespace) {
            "" => "(cluster)",
            ns => ns,
        });
        ips.add(interner.resolve(event.source_ip(interner)));
        let client = interner.resolve(event.client);
        let version = interner.resolve(event.client_version);
        clients.add(&if version.is_empty() {
            client.to_string()
        } else {
            format!("{client}/{version}")
        });
        codes.add(&match event.code {
            0 => String::new(),
            code => code.to_string(),
        });
        let (day, hour) = (
            day_of_week(event.received) as usize,
            hour_of_day(event.received) as usize,
        );
        if let Some(cell) = hour_of_week.get_mut(day).and_then(|row| row.get_mut(hour)) {
            *cell += 1;
        }
        if let Some(i) = buckets.index(event.received) {
            rate.requests[i] += 1;
            rate.denied[i] += u64::from(denied(event));
        }
    }
    if requests == 0 {
        return None;
    }
    for finding in analysis
        .findings()
        .iter()
        .filter(|f| f.identity == identity)
    {
        if let Some(i) = parse_rfc3339(&finding.timestamp).and_then(|t| buckets.index(t)) {
            rate.findings[i] += 1;
        }
    }
    Some(IdentityActivity {
        identity: identity.to_string(),
        requests,
        denied: denied_count,
        first: Some(format_rfc3339(first)),
        last: Some(format_rfc3339(last)),
        actors: actors.top(TOP_VALUES),
        groups: groups.into_iter().map(str::to_string).collect(),
        verbs: verbs.top(TOP_VALUES),
        resources: resources.top(TOP_VALUES),
        verb_resources: verb_resources.top(TOP_VALUES),
        namespaces: namespaces.top(TOP_VALUES),
        source_ips: ips.top(TOP_VALUES),
        clients: clients.top(TOP_VALUES),
        codes: codes.top(TOP_VALUES),
        hour_of_week,
        rate: Some(rate),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_round_and_cover_the_span() {
        let t0 = parse_rfc3339("2026-03-01T10:00:07Z").unwrap();
        let t1 = parse_rfc3339("2026-03-01T16:30:00Z").unwrap();
        let b = Buckets::covering(t0, t1);
        assert_eq!(b.step_ms, 300_000, "6.5 h in 5-minute buckets");
        assert_eq!(b.index(t0), Some(0));
        assert_eq!(b.index(t1), Some(b.count - 1));
        assert!(b.count as i64 <= TIMELINE_BUCKETS);
        assert_eq!(b.index(t0 - 3_600_000_000), None);
        let one = Buckets::covering(t0, t0);
        assert_eq!((one.step_ms, one.count), (1000, 1));
    }
}
