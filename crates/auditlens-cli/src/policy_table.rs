//! The `auditlens policy` subcommands' output for people: lints with their fixes, one line per
//! evaluated request, the simulated volume against the observed one, and the suggestion's
//! summary. Laid out for an 80-column terminal; text from logs and policy files is cut and
//! stripped of control characters.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use auditlens_core::policy::evaluate::Evaluation;
use auditlens_core::policy::suggest::Suggestion;
use auditlens_core::policy::volume::{Simulation, Volume, VolumeRow};
use auditlens_core::policy::{Lint, LintSeverity, Policy, PolicyFile};
use auditlens_core::{Event, Interner};

use crate::table::{bytes, fit, thousands, wrap, WIDTH};

/// `policy check`'s report.
pub fn lints(name: &str, file: &PolicyFile, lints: &[Lint]) -> String {
    let mut out = String::new();
    let errors = lints
        .iter()
        .filter(|l| l.severity == LintSeverity::Error)
        .count();
    let warnings = lints.len() - errors;
    for lint in lints {
        let severity = match lint.severity {
            LintSeverity::Error => "error",
            LintSeverity::Warning => "warning",
        };
        let place = if lint.line > 0 {
            format!("{name}:{}", lint.line)
        } else {
            name.to_string()
        };
        let _ = writeln!(
            out,
            "{}",
            fit(&format!("{severity}[{}] {place}", lint.code), WIDTH)
        );
        if !lint.field.is_empty() {
            let _ = writeln!(out, "    {}", fit(&format!("at {}", lint.field), WIDTH - 4));
        }
        for line in wrap(&lint.message, WIDTH - 4) {
            let _ = writeln!(out, "    {line}");
        }
        for (i, line) in wrap(&lint.fix, WIDTH - 9).into_iter().enumerate() {
            let _ = writeln!(out, "    {}{line}", if i == 0 { "fix: " } else { "     " });
        }
        out.push('\n');
    }
    let verdict = if !file.loads() {
        "kube-apiserver refuses this policy"
    } else if errors > 0 {
        "kube-apiserver loads it, but it does not do what it says"
    } else {
        "kube-apiserver loads it"
    };
    let counts = format!(
        "{name}: {} error{}, {} warning{}",
        errors,
        if errors == 1 { "" } else { "s" },
        warnings,
        if warnings == 1 { "" } else { "s" }
    );
    for line in wrap(&counts, WIDTH) {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "{verdict}.");
    out
}

/// The column titles of `policy evaluate`'s table.
pub fn evaluation_header() -> String {
    format!(
        "{:<15} {:>4} {:<8} {:<24} {}\n",
        "LEVEL", "RULE", "VERB", "RESOURCE", "USER"
    )
}

/// One evaluated request.
pub fn evaluation_row(event: &Event, interner: &Interner, evaluation: &Evaluation) -> String {
    let rule = evaluation
        .rule
        .map_or_else(|| "-".to_string(), |r| r.to_string());
    format!(
        "{:<15} {:>4} {:<8} {:<24} {}\n",
        evaluation.level,
        rule,
        fit(interner.resolve(event.verb), 8),
        fit(&event.resource_label(interner), 24),
        fit(interner.resolve(event.user), WIDTH - 55)
    )
}

/// How many requests each level and rule took.
#[derive(Default)]
pub struct EvaluationCounts {
    levels: BTreeMap<&'static str, u64>,
    rules: BTreeMap<Option<usize>, u64>,
    total: u64,
}

impl EvaluationCounts {
    pub fn add(&mut self, evaluation: &Evaluation) {
        *self.levels.entry(evaluation.level).or_default() += 1;
        *self.rules.entry(evaluation.rule).or_default() += 1;
        self.total += 1;
    }

    pub fn render(&self, policy: &Policy) -> String {
        let mut out = format!("\n{} requests\n", thousands(self.total));
        for (level, n) in &self.levels {
            let _ = writeln!(out, "  {level:<16} {:>10}", thousands(*n));
        }
        for (index, _) in policy.rules.iter().enumerate() {
            let n = self.rules.get(&Some(index)).copied().unwrap_or(0);
            let note = if n == 0 { "  (matched nothing)" } else { "" };
            let _ = writeln!(out, "  rule {index:<11} {:>10}{note}", thousands(n));
        }
        if let Some(n) = self.rules.get(&None) {
            let _ = writeln!(out, "  no rule          {:>10}", thousands(*n));
        }
        out
    }
}

fn change(observed: u64, simulated: u64) -> String {
    if observed == 0 {
        return String::new();
    }
    let percent = 100.0 * (simulated as f64 - observed as f64) / observed as f64;
    format!("{percent:+.0} %")
}

fn volume_rows(out: &mut String, title: &str, rows: &[VolumeRow]) {
    let _ = writeln!(
        out,
        "\n{:<32} {:>9} {:>11} {:>11} {:>8}",
        title, "REQUESTS", "OBSERVED", "SIMULATED", "CHANGE"
    );
    for row in rows {
        let _ = writeln!(
            out,
            "{:<32} {:>9} {:>11} {:>11} {:>8}",
            fit(&row.key, 32),
            thousands(row.requests),
            bytes(row.observed.bytes),
            bytes(row.simulated.bytes),
            change(row.observed.bytes, row.simulated.bytes)
        );
    }
}

fn per_day(volume: Volume) -> (String, String) {
    (thousands(volume.events), bytes(volume.bytes))
}

/// `policy simulate`'s report.
pub fn simulation(name: &str, sim: &Simulation) -> String {
    let mut out = String::new();
    let title = format!(
        "{name} on {} requests, {} to {} UTC ({:.1} days)",
        thousands(sim.requests),
        sim.first.as_deref().map_or("-".to_string(), |t| t
            .get(..16)
            .unwrap_or(t)
            .replace('T', " ")),
        sim.last.as_deref().map_or("-".to_string(), |t| t
            .get(..16)
            .unwrap_or(t)
            .replace('T', " ")),
        sim.days
    );
    for line in wrap(&title, WIDTH) {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(
        out,
        "\n{:<32} {:>12} {:>12} {:>8}",
        "PER DAY", "EVENTS", "BYTES", "CHANGE"
    );
    let (events, size) = per_day(sim.observed_per_day);
    let _ = writeln!(out, "{:<32} {events:>12} {size:>12}", "as the logs hold");
    let (events, size) = per_day(sim.simulated_per_day);
    let _ = writeln!(
        out,
        "{:<32} {events:>12} {size:>12} {:>8}",
        "with this policy",
        change(sim.observed_per_day.bytes, sim.simulated_per_day.bytes)
    );
    let _ = writeln!(
        out,
        "({} read from the files; bodies estimated for {} requests, unknown for {})",
        bytes(sim.read_bytes),
        thousands(sim.estimated_bodies),
        thousands(sim.unknown_bodies)
    );
    let _ = writeln!(
        out,
        "\n{:<12} {:>6} {:>12} {:>12} {:>12} {:>12}",
        "BY DAY", "HOURS", "EVENTS", "", "BYTES", ""
    );
    let _ = writeln!(
        out,
        "{:<12} {:>6} {:>12} {:>12} {:>12} {:>12}",
        "", "", "observed", "simulated", "observed", "simulated"
    );
    for day in &sim.by_day {
        let _ = writeln!(
            out,
            "{:<12} {:>6.1} {:>12} {:>12} {:>12} {:>12}",
            day.day,
            day.hours,
            thousands(day.observed.events),
            thousands(day.simulated.events),
            bytes(day.observed.bytes),
            bytes(day.simulated.bytes)
        );
    }
    volume_rows(&mut out, "BY LEVEL", &sim.by_level);
    volume_rows(&mut out, "BY IDENTITY", &sim.by_identity);
    volume_rows(&mut out, "BY RESOURCE", &sim.by_resource);
    let _ = writeln!(out, "\nWHAT WOULD GO BLIND");
    if sim.blind_rules.is_empty() && sim.blind_signals.is_empty() {
        let _ = writeln!(
            out,
            "Nothing: every detection rule and baseline signal that fired in these logs still \
             sees its requests."
        );
    }
    if !sim.blind_rules.is_empty() {
        let _ = writeln!(
            out,
            "{:<40} {:<16} {:>9} {:>9}",
            "DETECTION RULE", "NEEDS", "HITS", "LOST"
        );
        for rule in &sim.blind_rules {
            let _ = writeln!(
                out,
                "{:<40} {:<16} {:>9} {:>9}",
                fit(rule.rule, 40),
                rule.level,
                thousands(rule.hits),
                thousands(rule.lost)
            );
        }
    }
    if !sim.blind_signals.is_empty() {
        let _ = writeln!(
            out,
            "\n{:<57} {:>9} {:>9}",
            "BASELINE SIGNAL", "FINDINGS", "LOST"
        );
        for signal in &sim.blind_signals {
            let _ = writeln!(
                out,
                "{:<57} {:>9} {:>9}",
                fit(&signal.signal, 57),
                thousands(signal.findings),
                thousands(signal.lost)
            );
        }
    }
    out
}

/// `policy suggest`'s summary.
pub fn suggestion(suggestion: &Suggestion, written: Option<&Path>) -> String {
    let sim = &suggestion.simulation;
    let mut out = String::new();
    if let Some(path) = written {
        let _ = writeln!(out, "Wrote {}.", path.display());
    }
    let _ = writeln!(
        out,
        "{} rules from {} requests ({:.1} days). Expected {} events and {} a day, where the logs \
         hold {} events and {} a day ({}).",
        suggestion.policy.rules.len(),
        thousands(sim.requests),
        sim.days,
        thousands(sim.simulated_per_day.events),
        bytes(sim.simulated_per_day.bytes),
        thousands(sim.observed_per_day.events),
        bytes(sim.observed_per_day.bytes),
        change(sim.observed.bytes, sim.simulated.bytes)
    );
    if sim.blind_rules.is_empty() {
        let _ = writeln!(
            out,
            "Every detection rule that fired in these logs still sees its requests."
        );
    } else {
        for rule in &sim.blind_rules {
            let _ = writeln!(
                out,
                "It blinds {}: {} of {} hits (needs {}).",
                rule.rule, rule.lost, rule.hits, rule.level
            );
        }
    }
    let warnings = suggestion.lints.len();
    let _ = writeln!(
        out,
        "policy check: no error, {warnings} warning{}.",
        if warnings == 1 { "" } else { "s" }
    );
    out
}
