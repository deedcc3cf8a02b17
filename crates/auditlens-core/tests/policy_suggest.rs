//! `policy suggest` on simulated traffic with labelled attacks: the policy it writes loads,
//! `policy check` finds no error in it, it saves at least half the bytes the logs hold, and
//! every labelled attack request is still logged at the level its detection needs.
//!
//! Bytes saved are measured on the log itself, line by line: a line is kept when the policy
//! gives its request a level other than None and does not omit its stage, and a kept line is
//! counted whole, even where the policy would log it at a lower level (so the saving measured
//! is a lower bound).
// Tests read their fixtures from disk and fail loudly.
#![allow(clippy::disallowed_methods, clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;

use auditlens_core::model::{Level, Stage};
use auditlens_core::policy::{self, suggest, Decision, RequestAttributes};
use auditlens_core::{Analysis, Limits};
use auditlens_sim::{Label, LabelKind, SimConfig, Simulator};

struct Measured {
    saved: f64,
    attacks: usize,
    /// Attack requests not logged at the level their detection needs: (auditID, why).
    missed: Vec<(String, String)>,
    yaml: String,
}

fn analyse(log: &[u8]) -> Analysis {
    let mut analysis = Analysis::new(Limits::default());
    let file = analysis.add_file("sim.log");
    analysis.push(file, log);
    analysis.finish();
    // Fields these hand-made events leave out are said once per file; nothing else.
    assert!(analysis
        .diagnostics()
        .iter()
        .all(|d| d.kind == auditlens_core::DiagnosticKind::MissingFields));
    analysis
}

fn measure(log: &[u8], labels: &[Label]) -> Measured {
    let analysis = analyse(log);
    let suggestion = suggest::suggest(&analysis);
    // It loads as written, and `policy check` finds no error in it.
    let file = policy::read(&suggestion.yaml);
    assert!(file.loads(), "{}\n{:?}", suggestion.yaml, file.refused);
    assert!(file.ignored.is_empty() && file.repeated.is_empty());
    let lints = policy::check(&file);
    assert!(
        !policy::lint::has_errors(&lints),
        "{lints:#?}\n{}",
        suggestion.yaml
    );
    let policy = file.loaded().unwrap();
    let interner = analysis.interner();
    // Per request: the decision, the level its rule hits need, its most complete stage.
    let mut requests: HashMap<String, (Decision, Level, Stage)> = HashMap::new();
    for event in analysis.requests() {
        let decision = policy.evaluate(&RequestAttributes::of_event(event, interner));
        let needed = analysis
            .rule_hits(event.audit_id)
            .iter()
            .filter_map(|hit| auditlens_core::rules::rule(hit.rule).map(|m| m.level))
            .max()
            .unwrap_or(Level::Metadata);
        let id = interner.audit_id_text(event.audit_id).into_owned();
        requests.insert(id, (decision, needed, event.stage));
    }
    let (mut total, mut kept) = (0u64, 0u64);
    for line in log.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let value: serde_json::Value = serde_json::from_slice(line).unwrap();
        let id = value["auditID"].as_str().unwrap();
        let stage = Stage::parse(value["stage"].as_str().unwrap());
        let bytes = line.len() as u64 + 1;
        total += bytes;
        if requests[id].0.writes(stage) {
            kept += bytes;
        }
    }
    let mut attacks = 0;
    let mut missed = Vec::new();
    for label in labels.iter().filter(|l| l.kind == LabelKind::Attack) {
        attacks += 1;
        let (decision, needed, stage) = requests[&label.audit_id];
        if decision.level < needed || !decision.writes(stage) {
            missed.push((
                label.audit_id.clone(),
                format!(
                    "{}: logged at {:?} (rule {:?}), needs {needed:?} at {stage:?}",
                    label.scenario, decision.level, decision.rule
                ),
            ));
        }
    }
    Measured {
        saved: 1.0 - kept as f64 / total as f64,
        attacks,
        missed,
        yaml: suggestion.yaml,
    }
}

fn demo() -> (Vec<u8>, Vec<Label>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/demo");
    let mut log = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(dir.join("demo-audit.log.gz")).unwrap())
        .read_to_end(&mut log)
        .unwrap();
    let labels = std::fs::read_to_string(dir.join("demo-labels.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (log, labels)
}

fn simulated(config: SimConfig) -> (Vec<u8>, Vec<Label>) {
    let mut simulator = Simulator::new(config);
    let mut log = Vec::new();
    while simulator.next_line(&mut log) {}
    (log, simulator.labels().to_vec())
}

fn assert_good(name: &str, measured: &Measured) {
    eprintln!(
        "{name}: {:.1} % of the bytes saved; {} attack requests, {} missed",
        100.0 * measured.saved,
        measured.attacks,
        measured.missed.len()
    );
    assert!(measured.attacks > 0, "{name}: no labelled attack");
    assert!(
        measured.missed.is_empty(),
        "{name}: {:#?}\n{}",
        measured.missed,
        measured.yaml
    );
    assert!(
        measured.saved >= 0.5,
        "{name}: only {:.3} saved\n{}",
        measured.saved,
        measured.yaml
    );
    if std::env::var_os("SHOW_POLICY").is_some() {
        eprintln!("{}", measured.yaml);
    }
}

#[test]
fn on_the_demo_log_half_the_bytes_go_and_every_attack_stays() {
    let (log, labels) = demo();
    assert_good("demo", &measure(&log, &labels));
}

#[test]
fn on_a_simulated_week_half_the_bytes_go_and_every_attack_stays() {
    let config = SimConfig {
        seed: 11,
        days: 7,
        ..SimConfig::demo()
    };
    let (log, labels) = simulated(config);
    assert_good("week", &measure(&log, &labels));
}
