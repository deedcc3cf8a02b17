//! `auditlens quality`: how well scoring separates attacks from benign novelty, measured on
//! labelled simulated logs that anyone can regenerate.
//!
//! For each seed the simulator writes a log in memory (with its attack and benign-novelty
//! scenarios on the last day) and the labels of every scenario's requests. The log is read
//! into an analysis in chunks, timed (parsing, normalizing and the per-event rules), then
//! finished, timed (ordering, scoring, the window model, incidents). A request is *flagged*
//! when its finding is medium or above. Per scenario the report gives recall (its labelled
//! requests flagged), precision (its flagged requests among the flagged requests of the
//! incidents they fall in) and the highest severity; overall it gives precision over all
//! flagged requests, the flagged rate, and both throughputs.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::Result;
use auditlens_core::{Analysis, Limits, Severity};
use auditlens_sim::{LabelKind, SimConfig, Simulator};
use serde::Serialize;

use crate::args::QualityArgs;

/// Bytes per push, as the CLI reads files.
const CHUNK: usize = 256 * 1024;

/// Counts for one scenario over every seed.
#[derive(Debug, Default, Serialize)]
struct ScenarioRow {
    scenario: String,
    kind: String,
    /// Labelled requests.
    requests: u64,
    /// Labelled requests at medium or above.
    flagged: u64,
    /// Labelled requests with any finding.
    findings: u64,
    /// Flagged requests in the incidents the scenario's flagged requests fall in.
    incident_flagged: u64,
    /// Seeds in which the scenario had a request at medium or above.
    seeds_surfaced: u32,
    seeds: u32,
    highest: Option<Severity>,
}

impl ScenarioRow {
    fn recall(&self) -> f64 {
        ratio(self.flagged, self.requests)
    }

    fn precision(&self) -> f64 {
        ratio(self.flagged, self.incident_flagged)
    }

    fn meets_target(&self) -> bool {
        match self.kind.as_str() {
            "attack" => self.seeds_surfaced == self.seeds,
            _ => self.flagged == 0,
        }
    }
}

#[derive(Debug, Default, Serialize)]
struct Totals {
    seeds: Vec<u64>,
    requests: u64,
    findings: u64,
    flagged: u64,
    flagged_attack: u64,
    attack_requests: u64,
    incidents: u64,
    flagged_incidents: u64,
    attack_incidents: u64,
    bytes: u64,
    #[serde(skip)]
    parse: Duration,
    #[serde(skip)]
    score: Duration,
    parser_mb_per_s: f64,
    scoring_mb_per_s: f64,
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

#[derive(Serialize)]
struct QualityReport<'a> {
    scenarios: Vec<&'a ScenarioRow>,
    totals: &'a Totals,
    precision: f64,
    recall: f64,
    flagged_rate: f64,
    targets_met: bool,
}

/// Runs the command; returns the exit status (1 with `--check` when a target is missed).
pub fn run(args: &QualityArgs, out: &mut dyn Write) -> Result<u8> {
    let mut rows: BTreeMap<String, ScenarioRow> = BTreeMap::new();
    let mut totals = Totals::default();
    for &seed in &args.seeds {
        one_seed(args, seed, &mut rows, &mut totals);
    }
    let mb = totals.bytes as f64 / 1e6;
    totals.parser_mb_per_s = mb / totals.parse.as_secs_f64().max(1e-9);
    totals.scoring_mb_per_s = mb / totals.score.as_secs_f64().max(1e-9);
    let mut ordered: Vec<&ScenarioRow> = rows.values().collect();
    ordered.sort_by(|a, b| {
        a.kind
            .cmp(&b.kind)
            .then_with(|| a.scenario.cmp(&b.scenario))
    });
    let targets_met = ordered.iter().all(|r| r.meets_target());
    let report = QualityReport {
        precision: ratio(totals.flagged_attack, totals.flagged),
        recall: ratio(totals.flagged_attack, totals.attack_requests),
        flagged_rate: ratio(totals.flagged, totals.requests),
        scenarios: ordered,
        totals: &totals,
        targets_met,
    };
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &report)?;
        out.write_all(b"\n")?;
    } else {
        out.write_all(table(args, &report).as_bytes())?;
    }
    Ok(u8::from(args.check && !targets_met))
}

fn config(args: &QualityArgs, seed: u64) -> SimConfig {
    let mut config = match args.size {
        Some(size) => SimConfig::benchmark(size),
        None => SimConfig::demo(),
    };
    config.seed = seed;
    if let Some(days) = args.days {
        config.days = days.max(2);
    }
    if let Some(nodes) = args.nodes {
        config.nodes = nodes;
    }
    if let Some(humans) = args.humans {
        config.humans = humans;
    }
    config
}

fn one_seed(
    args: &QualityArgs,
    seed: u64,
    rows: &mut BTreeMap<String, ScenarioRow>,
    totals: &mut Totals,
) {
    let mut sim = Simulator::new(config(args, seed));
    let mut log = Vec::new();
    while sim.next_line(&mut log) {}
    let labels = sim.labels().to_vec();

    let started = Instant::now();
    let mut analysis = Analysis::new(Limits::default());
    let file = analysis.add_file(&format!("simulated-seed-{seed}.log"));
    for chunk in log.chunks(CHUNK) {
        analysis.push(file, chunk);
    }
    analysis.finish_file(file);
    let parsed = Instant::now();
    analysis.finish();
    let finished = Instant::now();
    totals.parse += parsed - started;
    totals.score += finished - parsed;
    totals.bytes += log.len() as u64;
    totals.seeds.push(seed);
    totals.requests += analysis.requests().len() as u64;

    let label_of: HashMap<&str, (&str, LabelKind)> = labels
        .iter()
        .map(|l| (l.audit_id.as_str(), (l.scenario.as_str(), l.kind)))
        .collect();
    // Flagged requests per incident, and which scenarios each incident touches.
    let mut incident_flagged: HashMap<u32, u64> = HashMap::new();
    let mut incident_scenarios: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
    let mut finding_of: HashMap<&str, Severity> = HashMap::new();
    for f in analysis.findings() {
        finding_of.insert(f.request_key(), f.severity);
        totals.findings += 1;
        let flagged = f.severity >= Severity::Medium;
        let label = label_of.get(f.request_key());
        if flagged {
            totals.flagged += 1;
            if let Some(id) = f.incident {
                *incident_flagged.entry(id).or_default() += 1;
                if let Some((scenario, _)) = label {
                    incident_scenarios.entry(id).or_default().push(scenario);
                }
            }
            if matches!(label, Some((_, LabelKind::Attack))) {
                totals.flagged_attack += 1;
            }
        }
    }
    totals.incidents += analysis.incidents().len() as u64;
    for incident in analysis.incidents() {
        if incident.severity >= Severity::Medium {
            totals.flagged_incidents += 1;
            let attack = incident_scenarios.get(&incident.id).is_some_and(|s| {
                s.iter().any(|name| {
                    labels
                        .iter()
                        .any(|l| l.scenario == *name && l.kind == LabelKind::Attack)
                })
            });
            totals.attack_incidents += u64::from(attack);
        }
    }
    if let Some(show) = &args.show {
        print_scenario(&analysis, &labels, show, seed);
    }
    let mut seen_this_seed: BTreeMap<&str, bool> = BTreeMap::new();
    for label in &labels {
        let row = rows
            .entry(label.scenario.clone())
            .or_insert_with(|| ScenarioRow {
                scenario: label.scenario.clone(),
                kind: match label.kind {
                    LabelKind::Attack => "attack".to_string(),
                    LabelKind::BenignNovelty => "benign-novelty".to_string(),
                },
                ..ScenarioRow::default()
            });
        if !seen_this_seed.contains_key(label.scenario.as_str()) {
            row.seeds += 1;
            seen_this_seed.insert(label.scenario.as_str(), false);
        }
        row.requests += 1;
        if label.kind == LabelKind::Attack {
            totals.attack_requests += 1;
        }
        let Some(&severity) = finding_of.get(label.audit_id.as_str()) else {
            continue;
        };
        row.findings += 1;
        row.highest = row.highest.max(Some(severity));
        if severity >= Severity::Medium {
            row.flagged += 1;
            seen_this_seed.insert(label.scenario.as_str(), true);
        }
    }
    for (scenario, surfaced) in seen_this_seed {
        if let Some(row) = rows.get_mut(scenario) {
            row.seeds_surfaced += u32::from(surfaced);
            row.incident_flagged += incident_scenarios
                .iter()
                .filter(|(_, names)| names.contains(&scenario))
                .map(|(id, _)| incident_flagged.get(id).copied().unwrap_or(0))
                .sum::<u64>();
        }
    }
}

/// Prints every request of one scenario with its finding, on stderr (the report stays on
/// stdout).
fn print_scenario(analysis: &Analysis, labels: &[auditlens_sim::Label], scenario: &str, seed: u64) {
    let findings: HashMap<&str, &auditlens_core::Finding> = analysis
        .findings()
        .iter()
        .map(|f| (f.request_key(), f))
        .collect();
    let interner = analysis.interner();
    let requests: HashMap<std::borrow::Cow<'_, str>, &auditlens_core::Event> = analysis
        .requests()
        .iter()
        .map(|e| (interner.audit_id_text(e.audit_id), e))
        .collect();
    eprintln!("== {scenario}, seed {seed}");
    if scenario == "unlabelled" {
        let labelled: std::collections::HashSet<&str> =
            labels.iter().map(|l| l.audit_id.as_str()).collect();
        for f in analysis.findings() {
            if f.severity < Severity::Medium || labelled.contains(f.request_key()) {
                continue;
            }
            eprintln!(
                "  {:<8} {:>3} {} {} {} {} {}",
                f.severity.as_str(),
                f.score,
                f.timestamp,
                f.identity,
                f.verb,
                f.resource,
                f.namespace
            );
            for r in &f.reasons {
                eprintln!("             {}: {}", r.code, r.message);
            }
        }
        return;
    }
    for label in labels.iter().filter(|l| l.scenario == scenario) {
        let id = label.audit_id.as_str();
        let what = requests.get(id).map_or(String::new(), |e| {
            format!(
                "{} {} {} {}",
                interner.resolve(e.user),
                interner.resolve(e.verb),
                e.resource_label(interner),
                interner.resolve(e.namespace)
            )
        });
        match findings.get(id) {
            None => eprintln!("  -        {what}"),
            Some(f) => {
                eprintln!("  {:<8} {:>3} {what}", f.severity.as_str(), f.score);
                for r in &f.reasons {
                    eprintln!("             {}: {}", r.code, r.message);
                }
                for rule in &f.rules {
                    eprintln!("             rule {rule}");
                }
            }
        }
    }
}

fn percent(x: f64) -> String {
    if x > 0.0 && x < 0.01 {
        format!("{:.3}%", x * 100.0)
    } else {
        format!("{:.1}%", x * 100.0)
    }
}

fn table(args: &QualityArgs, r: &QualityReport<'_>) -> String {
    let t = r.totals;
    let seeds: Vec<String> = t.seeds.iter().map(u64::to_string).collect();
    let mut s = format!(
        "Scoring quality on the simulated {} cluster, seeds {} ({} days each{})\n\
         flagged = finding at medium or above\n\n",
        if args.size.is_some() {
            "benchmark"
        } else {
            "demo"
        },
        seeds.join(", "),
        config(args, 0).days,
        if args.nodes.is_some() || args.humans.is_some() {
            ", custom size"
        } else {
            ""
        }
    );
    s.push_str(&format!(
        "{:<34} {:<7} {:>5} {:>5} {:>7} {:>7} {:>8}  {}\n",
        "scenario", "kind", "reqs", "flag", "recall", "precis", "highest", "target"
    ));
    for row in &r.scenarios {
        let kind = if row.kind == "attack" {
            "attack"
        } else {
            "benign"
        };
        let target = match (row.kind.as_str(), row.meets_target()) {
            ("attack", true) => format!("ok ({}/{} seeds)", row.seeds_surfaced, row.seeds),
            ("attack", false) => format!("MISSED ({}/{} seeds)", row.seeds_surfaced, row.seeds),
            (_, true) => "ok (below medium)".to_string(),
            (_, false) => "FALSE ALARM".to_string(),
        };
        let precision = if row.kind == "attack" {
            percent(row.precision())
        } else {
            "-".to_string()
        };
        s.push_str(&format!(
            "{:<34} {:<7} {:>5} {:>5} {:>7} {:>7} {:>8}  {}\n",
            row.scenario,
            kind,
            row.requests,
            row.flagged,
            percent(row.recall()),
            precision,
            row.highest.map_or("-", Severity::as_str),
            target
        ));
    }
    s.push_str(&format!(
        "\nall requests: {}; findings (any severity): {}; flagged: {} ({} of requests)\n",
        t.requests,
        t.findings,
        t.flagged,
        percent(r.flagged_rate)
    ));
    s.push_str(&format!(
        "precision (flagged requests that are labelled attacks): {}; recall (labelled attack requests flagged): {}\n",
        percent(r.precision),
        percent(r.recall)
    ));
    s.push_str(&format!(
        "incidents: {} (medium or above: {}, of which {} contain an attack)\n",
        t.incidents, t.flagged_incidents, t.attack_incidents
    ));
    s.push_str(&format!(
        "throughput over {:.1} MB: parser {:.1} MB/s ({:.2} s), scoring {:.1} MB/s ({:.2} s)\n",
        t.bytes as f64 / 1e6,
        t.parser_mb_per_s,
        t.parse.as_secs_f64(),
        t.scoring_mb_per_s,
        t.score.as_secs_f64()
    ));
    s.push_str(if r.targets_met {
        "targets: met (every attack surfaced in every seed, no benign novelty at medium or above)\n"
    } else {
        "targets: NOT met\n"
    });
    s
}
