//! `auditlens policy simulate`: what a policy would write, compared with what the logs hold,
//! and what it would no longer see.
//!
//! Each request of the logs is evaluated under the policy; its cost is estimated from its own
//! record:
//!
//! - The record kept for a request is its most complete stage; its bodies (`requestObject`,
//!   `responseObject`) were measured while reading ([`BodyBytes`](crate::model::BodyBytes)), so the rest is what the
//!   record takes at `Metadata`.
//! - A `RequestReceived` record lacks the response status and the authorization annotations;
//!   a `ResponseStarted` record (long-running requests: watch, exec, attach, port-forward,
//!   proxy, logs) lacks the bodies. The stages a request produces are those seen, plus
//!   `RequestReceived` and `ResponseComplete`, plus `ResponseStarted` for a long-running one.
//! - At a level higher than the one logged, the bodies the record lacks are estimated from the
//!   average of requests of the same kind (verb, group, resource, subresource) logged at that
//!   level, then of the same verb and subresource (a create of another resource, never an exec
//!   for a create); a request with neither is counted without, and the report says how many
//!   there were.
//!
//! "Observed" is the same estimate applied to the level and stages the logs hold, so that the
//! two compare like with like; the bytes actually read are reported beside it.
//!
//! What goes blind: a detection rule's hit is lost when the policy gives its request a level
//! below the rule's [`RuleMeta::level`](crate::rules::RuleMeta) or omits the stage the hit was
//! read from; a finding's baseline signals are lost when its request is not logged at all.

use std::collections::{BTreeMap, HashMap};

use rustc_hash::FxBuildHasher;
use serde::Serialize;

use super::cost::{BodyModel, RequestCost};
use super::evaluate::{url_path, Decision, RequestAttributes};
use super::{level_name, Policy};
use crate::analysis::Analysis;
use crate::intern::{AuditId, Interner, Sym};
use crate::model::{Event, Level};
use crate::time::{format_rfc3339, Micros};

const DAY_US: i64 = 86_400_000_000;

/// Events and bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Volume {
    pub events: u64,
    pub bytes: u64,
}

impl Volume {
    pub(crate) fn add(&mut self, other: Volume) {
        self.events += other.events;
        self.bytes += other.bytes;
    }

    /// This volume over `days`, per day.
    fn per_day(self, days: f64) -> Volume {
        Volume {
            events: (self.events as f64 / days).round() as u64,
            bytes: (self.bytes as f64 / days).round() as u64,
        }
    }
}

/// Observed and simulated volume of one group of requests.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeRow {
    pub key: String,
    pub requests: u64,
    pub observed: Volume,
    pub simulated: Volume,
}

/// One calendar day (UTC).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DayRow {
    /// `2024-05-06`.
    pub day: String,
    /// Hours of the day the logs cover (24 but for the first and last day).
    pub hours: f64,
    pub observed: Volume,
    pub simulated: Volume,
}

/// Bytes per time step, for a chart.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Series {
    pub start_ms: i64,
    pub step_ms: i64,
    pub observed_bytes: Vec<u64>,
    pub simulated_bytes: Vec<u64>,
}

/// A detection rule that would lose hits.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlindRule {
    pub rule: &'static str,
    pub title: &'static str,
    /// The level the rule needs.
    pub level: &'static str,
    /// Its hits in these logs.
    pub hits: u64,
    /// Those the policy would not let it see.
    pub lost: u64,
    /// auditIDs of a few lost hits.
    pub examples: Vec<String>,
}

/// A baseline signal (a reason code of findings) that would lose findings.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlindSignal {
    pub signal: String,
    pub findings: u64,
    pub lost: u64,
}

/// Everything `policy simulate` reports.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Simulation {
    pub requests: u64,
    pub first: Option<String>,
    pub last: Option<String>,
    /// The days the logs span (at least an hour's worth).
    pub days: f64,
    /// Bytes read from the files (after decompression).
    pub read_bytes: u64,
    pub observed: Volume,
    pub simulated: Volume,
    pub observed_per_day: Volume,
    pub simulated_per_day: Volume,
    pub by_day: Vec<DayRow>,
    pub by_level: Vec<VolumeRow>,
    pub by_identity: Vec<VolumeRow>,
    pub by_resource: Vec<VolumeRow>,
    pub series: Series,
    /// Rules that would lose hits, most lost first.
    pub blind_rules: Vec<BlindRule>,
    pub blind_signals: Vec<BlindSignal>,
    /// Requests whose bodies at the simulated level were estimated from others of their kind.
    pub estimated_bodies: u64,
    /// Requests whose bodies at the simulated level could not be estimated (counted without).
    pub unknown_bodies: u64,
}

/// `deployments.apps/scale`, `pods/exec`, or a non-resource path.
pub fn resource_key(event: &Event, interner: &Interner) -> String {
    if event.non_resource {
        return url_path(interner.resolve(event.request_uri)).into_owned();
    }
    let mut key = interner.resolve(event.resource).to_string();
    let group = interner.resolve(event.api_group);
    if !group.is_empty() {
        key.push('.');
        key.push_str(group);
    }
    if !event.subresource.is_empty() {
        key.push('/');
        key.push_str(interner.resolve(event.subresource));
    }
    key
}

struct Rows {
    rows: HashMap<Sym, VolumeRow, FxBuildHasher>,
}

/// Estimates what `policy` would write for the requests of a finished analysis. `top` bounds
/// the identities and resources listed (the rest are summed into one row).
pub fn simulate(policy: &Policy, analysis: &Analysis, top: usize) -> Simulation {
    simulate_with(analysis, top, |event, interner| {
        policy.evaluate(&RequestAttributes::of_event(event, interner))
    })
}

/// [`simulate`] with the decisions given by `decide`.
pub(crate) fn simulate_with(
    analysis: &Analysis,
    top: usize,
    mut decide: impl FnMut(&Event, &Interner) -> Decision,
) -> Simulation {
    let interner = analysis.interner();
    let requests = analysis.requests();
    let model = BodyModel::learn(requests);
    let mut out = Simulation {
        requests: requests.len() as u64,
        read_bytes: analysis
            .summary()
            .files
            .iter()
            .map(|f| f.decoded_bytes)
            .sum(),
        ..Simulation::default()
    };
    let (first, last) = requests
        .iter()
        .fold((Micros::MAX, Micros::MIN), |(a, b), e| {
            (a.min(e.received), b.max(e.received))
        });
    if requests.is_empty() {
        return out;
    }
    out.first = Some(format_rfc3339(first));
    out.last = Some(format_rfc3339(last));
    let covered = last.saturating_sub(first);
    out.days = covered.max(3_600_000_000) as f64 / DAY_US as f64;
    let step = series_step(covered);
    let buckets = usize::try_from(covered / step + 1).unwrap_or(1);
    out.series = Series {
        start_ms: first.div_euclid(step) * step / 1000,
        step_ms: step / 1000,
        observed_bytes: vec![0; buckets + 1],
        simulated_bytes: vec![0; buckets + 1],
    };
    let series_start = first.div_euclid(step) * step;
    let mut days: BTreeMap<i64, (Volume, Volume)> = BTreeMap::new();
    let mut levels: [VolumeRow; 4] = Default::default();
    for (row, level) in levels.iter_mut().zip([
        Level::None,
        Level::Metadata,
        Level::Request,
        Level::RequestResponse,
    ]) {
        row.key = level_name(level).to_string();
    }
    let mut identities = Rows::new();
    let mut resources: HashMap<String, VolumeRow, FxBuildHasher> = HashMap::default();
    let mut rule_levels: HashMap<&'static str, Level, FxBuildHasher> = HashMap::default();
    let mut blind: HashMap<&'static str, BlindRule, FxBuildHasher> = HashMap::default();
    let finding_ids = finding_requests(analysis);
    let mut lost_findings: HashMap<AuditId, bool, FxBuildHasher> = HashMap::default();
    for event in requests {
        let decision = decide(event, interner);
        let cost = RequestCost::of(event, interner);
        let (request_body, response_body, estimated) = model.bodies(event, decision.level);
        if decision.level != Level::None {
            match estimated {
                Some(true) => out.estimated_bodies += 1,
                Some(false) => out.unknown_bodies += 1,
                None => {}
            }
        }
        let observed = cost.observed(event);
        let simulated = cost.simulated(&decision, request_body + response_body);
        out.observed.add(observed);
        out.simulated.add(simulated);
        let day = days.entry(event.received.div_euclid(DAY_US)).or_default();
        day.0.add(observed);
        day.1.add(simulated);
        let bucket =
            usize::try_from(event.received.saturating_sub(series_start) / step).unwrap_or(0);
        if let Some(b) = out.series.observed_bytes.get_mut(bucket) {
            *b += observed.bytes;
        }
        if let Some(b) = out.series.simulated_bytes.get_mut(bucket) {
            *b += simulated.bytes;
        }
        if let Some(row) = level_row(&mut levels, event.level) {
            row.requests += 1;
            row.observed.add(observed);
        }
        if let Some(row) = level_row(&mut levels, decision.level) {
            row.simulated.add(simulated);
        }
        identities.add(event.user, observed, simulated);
        let row = resources.entry(resource_key(event, interner)).or_default();
        row.requests += 1;
        row.observed.add(observed);
        row.simulated.add(simulated);
        let detail = cost.detail_written(&decision);
        for hit in analysis.rule_hits(event.audit_id) {
            let needed = *rule_levels.entry(hit.rule).or_insert_with(|| {
                crate::rules::rule(hit.rule).map_or(Level::Metadata, |m| m.level)
            });
            let entry = blind.entry(hit.rule).or_insert_with(|| BlindRule {
                rule: hit.rule,
                title: crate::rules::rule(hit.rule).map_or("", |m| m.title),
                level: level_name(needed),
                hits: 0,
                lost: 0,
                examples: Vec::new(),
            });
            entry.hits += 1;
            if !(detail && decision.level >= needed) {
                entry.lost += 1;
                if entry.examples.len() < 3 {
                    entry
                        .examples
                        .push(interner.request_key(event.audit_id).into_owned());
                }
            }
        }
        if finding_ids.contains_key(&event.audit_id) {
            lost_findings.insert(event.audit_id, !detail);
        }
    }
    out.observed_per_day = out.observed.per_day(out.days);
    out.simulated_per_day = out.simulated.per_day(out.days);
    out.by_day = days
        .into_iter()
        .map(|(day, (observed, simulated))| {
            let start = day.saturating_mul(DAY_US);
            let covered = last
                .min(start.saturating_add(DAY_US))
                .saturating_sub(first.max(start))
                .max(0);
            DayRow {
                day: format_rfc3339(start).get(..10).unwrap_or("").to_string(),
                hours: (covered as f64 / 3.6e9 * 10.0).round() / 10.0,
                observed,
                simulated,
            }
        })
        .collect();
    out.by_level = levels.into_iter().collect();
    out.by_identity = top_rows(identities.into_rows(interner), top);
    out.by_resource = top_rows(
        resources
            .into_iter()
            .map(|(key, mut row)| {
                row.key = key;
                row
            })
            .collect(),
        top,
    );
    let mut blind: Vec<BlindRule> = blind.into_values().filter(|b| b.lost > 0).collect();
    blind.sort_by(|a, b| b.lost.cmp(&a.lost).then(a.rule.cmp(b.rule)));
    out.blind_rules = blind;
    out.blind_signals = blind_signals(analysis, &finding_ids, &lost_findings);
    out
}

fn level_row(rows: &mut [VolumeRow; 4], level: Level) -> Option<&mut VolumeRow> {
    match level {
        Level::None => rows.get_mut(0),
        Level::Metadata => rows.get_mut(1),
        Level::Request => rows.get_mut(2),
        Level::RequestResponse => rows.get_mut(3),
        Level::Unknown => None,
    }
}

impl Rows {
    fn new() -> Rows {
        Rows {
            rows: HashMap::default(),
        }
    }

    fn add(&mut self, key: Sym, observed: Volume, simulated: Volume) {
        let row = self.rows.entry(key).or_default();
        row.requests += 1;
        row.observed.add(observed);
        row.simulated.add(simulated);
    }

    fn into_rows(self, interner: &Interner) -> Vec<VolumeRow> {
        self.rows
            .into_iter()
            .map(|(key, mut row)| {
                row.key = match interner.resolve(key) {
                    "" => "(no user)".to_string(),
                    name => name.to_string(),
                };
                row
            })
            .collect()
    }
}

/// The `top` rows with the most observed bytes (ties by key), then one row for the rest.
fn top_rows(mut rows: Vec<VolumeRow>, top: usize) -> Vec<VolumeRow> {
    rows.sort_by(|a, b| {
        b.observed
            .bytes
            .cmp(&a.observed.bytes)
            .then_with(|| a.key.cmp(&b.key))
    });
    if rows.len() > top {
        let rest = rows.split_off(top);
        let mut other = VolumeRow {
            key: format!("({} others)", rest.len()),
            ..VolumeRow::default()
        };
        for row in rest {
            other.requests += row.requests;
            other.observed.add(row.observed);
            other.simulated.add(row.simulated);
        }
        rows.push(other);
    }
    rows
}

/// The findings of each request with findings, by auditID.
fn finding_requests(analysis: &Analysis) -> HashMap<AuditId, Vec<usize>, FxBuildHasher> {
    let mut map: HashMap<AuditId, Vec<usize>, FxBuildHasher> = HashMap::default();
    for (index, finding) in analysis.findings().iter().enumerate() {
        if let Some(id) = analysis.interner().get_audit_id(finding.request_key()) {
            map.entry(id).or_default().push(index);
        }
    }
    map
}

fn blind_signals(
    analysis: &Analysis,
    findings_of: &HashMap<AuditId, Vec<usize>, FxBuildHasher>,
    lost: &HashMap<AuditId, bool, FxBuildHasher>,
) -> Vec<BlindSignal> {
    let mut counts: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let findings = analysis.findings();
    let mut ids: Vec<(&AuditId, &Vec<usize>)> = findings_of.iter().collect();
    ids.sort_unstable_by_key(|(id, _)| **id);
    for (id, indices) in ids {
        let gone = lost.get(id).copied().unwrap_or(false);
        for &index in indices {
            let Some(finding) = findings.get(index) else {
                continue;
            };
            let mut codes: Vec<&str> = finding
                .reasons
                .iter()
                .map(|r| r.code.as_str())
                .filter(|c| *c != "rule")
                .collect();
            codes.sort_unstable();
            codes.dedup();
            for code in codes {
                let entry = counts.entry(code.to_string()).or_default();
                entry.0 += 1;
                entry.1 += u64::from(gone);
            }
        }
    }
    let mut out: Vec<BlindSignal> = counts
        .into_iter()
        .filter(|(_, (_, lost))| *lost > 0)
        .map(|(signal, (findings, lost))| BlindSignal {
            signal,
            findings,
            lost,
        })
        .collect();
    out.sort_by(|a, b| b.lost.cmp(&a.lost).then_with(|| a.signal.cmp(&b.signal)));
    out
}

/// A time step that cuts `span` (microseconds) into at most 200 buckets: a round one when a
/// week or less does, else a two-hundredth of the span.
fn series_step(span: i64) -> i64 {
    const STEPS_S: [i64; 10] = [60, 300, 600, 1800, 3600, 7200, 21600, 43200, 86400, 604_800];
    STEPS_S
        .iter()
        .map(|s| s * 1_000_000)
        .find(|&step| span / step < 200)
        .unwrap_or(span / 199 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_span_gives_at_most_200_buckets() {
        for span in [
            0,
            1,
            3_600_000_000,
            2 * DAY_US,
            400 * DAY_US,
            i64::MAX / 2,
            i64::MAX,
        ] {
            let step = series_step(span);
            assert!(step > 0 && span / step < 200, "{span}: {step}");
        }
        assert_eq!(series_step(2 * DAY_US), 1_800_000_000);
    }
}
