//! `auditlens policy`: check, evaluate, simulate and suggest API-server audit policies, and the
//! log rotation flags that keep N days. Reading files and printing is all that happens here;
//! `auditlens_core::policy` does the rest.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};
use auditlens_core::policy::{
    self, evaluate::evaluate_requests, retention, suggest, volume, Policy, PolicyFile,
};
use auditlens_core::Analysis;

use crate::args::{
    EvaluateFormat, PolicyArgs, PolicyCheckArgs, PolicyCommand, PolicyEvaluateArgs,
    PolicyRetentionArgs, PolicySimulateArgs, PolicySuggestArgs, ReportFormat,
};
use crate::input::{self, Loaded};
use crate::policy_table;
use crate::table::bytes;

/// Runs the command; returns the process exit status.
pub fn run(args: &PolicyArgs, out: &mut dyn Write) -> Result<u8> {
    match &args.command {
        PolicyCommand::Check(args) => check(args, out),
        PolicyCommand::Evaluate(args) => evaluate(args, out),
        PolicyCommand::Simulate(args) => simulate(args, out),
        PolicyCommand::Suggest(args) => suggest(args, out),
        PolicyCommand::Retention(args) => retention(args, out),
    }
}

/// Reads a policy file; an error (exit 2) when it cannot be read.
fn read(path: &Path) -> Result<PolicyFile> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read policy {}", path.display()))?;
    Ok(policy::read_bytes(&bytes))
}

/// A policy kube-apiserver would load, or an error saying why it would not.
fn loaded(path: &Path) -> Result<Policy> {
    let file = read(path)?;
    if let Some(policy) = file.loaded() {
        return Ok(policy.clone());
    }
    let reasons: Vec<String> = file
        .refused
        .iter()
        .map(|e| format!("  {}:{}: {}", path.display(), e.line, e.message))
        .collect();
    bail!(
        "kube-apiserver would refuse the policy {}:\n{}\n(`auditlens policy check {}` says how \
         to fix it)",
        path.display(),
        reasons.join("\n"),
        path.display()
    )
}

/// Prints the files that could not be read; the exit status for them.
fn report_io_errors(loaded: &Loaded) -> u8 {
    for error in &loaded.io_errors {
        eprintln!("auditlens: cannot read {error}");
    }
    if loaded.io_errors.is_empty() {
        0
    } else {
        2
    }
}

fn check(args: &PolicyCheckArgs, out: &mut dyn Write) -> Result<u8> {
    let file = read(&args.policy)?;
    let lints = policy::check(&file);
    let name = args.policy.display().to_string();
    match args.format {
        ReportFormat::Table => {
            out.write_all(policy_table::lints(&name, &file, &lints).as_bytes())?
        }
        ReportFormat::Json => {
            let errors = lints
                .iter()
                .filter(|l| l.severity == policy::LintSeverity::Error)
                .count();
            let document = serde_json::json!({
                "file": name,
                "loads": file.loads(),
                "errors": errors,
                "warnings": lints.len() - errors,
                "lints": lints,
            });
            serde_json::to_writer_pretty(&mut *out, &document)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(u8::from(policy::lint::has_errors(&lints)))
}

fn evaluate(args: &PolicyEvaluateArgs, out: &mut dyn Write) -> Result<u8> {
    let policy = loaded(&args.policy)?;
    // The requests as read: evaluation needs neither their time order nor scoring.
    let loaded = input::load(&args.input, Analysis::new(args.input.limits()));
    let analysis = &loaded.analysis;
    let interner = analysis.interner();
    let mut counts = policy_table::EvaluationCounts::default();
    let mut first = true;
    if args.format == EvaluateFormat::Table {
        out.write_all(policy_table::evaluation_header().as_bytes())?;
    }
    if args.format == EvaluateFormat::Json {
        out.write_all(b"[")?;
    }
    let mut failed: Option<std::io::Error> = None;
    evaluate_requests(&policy, analysis, |event, evaluation| {
        if failed.is_some() {
            return;
        }
        counts.add(&evaluation);
        let written = match args.format {
            EvaluateFormat::Jsonl => serde_json::to_writer(&mut *out, &evaluation)
                .map_err(std::io::Error::from)
                .and_then(|()| out.write_all(b"\n")),
            EvaluateFormat::Json => out
                .write_all(if first { b"\n" } else { b",\n" })
                .and_then(|()| serde_json::to_writer(&mut *out, &evaluation).map_err(Into::into)),
            EvaluateFormat::Table => {
                out.write_all(policy_table::evaluation_row(event, interner, &evaluation).as_bytes())
            }
        };
        first = false;
        if let Err(e) = written {
            failed = Some(e);
        }
    });
    if let Some(error) = failed {
        return Err(error.into());
    }
    match args.format {
        EvaluateFormat::Json => out.write_all(b"\n]\n")?,
        EvaluateFormat::Table => out.write_all(counts.render(&policy).as_bytes())?,
        EvaluateFormat::Jsonl => {}
    }
    out.flush()?;
    Ok(report_io_errors(&loaded))
}

/// Reads the logs and finishes the analysis (rule hits and findings are needed).
fn load_finished(input: &crate::args::InputArgs) -> Loaded {
    let mut loaded = input::load(input, Analysis::new(input.limits()));
    loaded.analysis.finish();
    loaded
}

fn simulate(args: &PolicySimulateArgs, out: &mut dyn Write) -> Result<u8> {
    let policy = loaded(&args.policy)?;
    let loaded = load_finished(&args.input);
    let simulation = volume::simulate(&policy, &loaded.analysis, args.top);
    match args.format {
        ReportFormat::Table => out.write_all(
            policy_table::simulation(&args.policy.display().to_string(), &simulation).as_bytes(),
        )?,
        ReportFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &simulation)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(report_io_errors(&loaded))
}

fn suggest(args: &PolicySuggestArgs, out: &mut dyn Write) -> Result<u8> {
    let loaded = load_finished(&args.input);
    if loaded.analysis.requests().is_empty() {
        report_io_errors(&loaded);
        bail!("the logs hold no audit events to derive a policy from");
    }
    let suggestion = suggest::suggest(&loaded.analysis);
    if let Some(path) = &args.output {
        std::fs::write(path, &suggestion.yaml)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let summary = policy_table::suggestion(&suggestion, args.output.as_deref());
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &suggestion)?;
        out.write_all(b"\n")?;
    } else if args.output.is_some() {
        out.write_all(summary.as_bytes())?;
    } else {
        out.write_all(suggestion.yaml.as_bytes())?;
        eprint!("{summary}");
    }
    out.flush()?;
    Ok(report_io_errors(&loaded))
}

fn retention(args: &PolicyRetentionArgs, out: &mut dyn Write) -> Result<u8> {
    let policy = match &args.policy {
        Some(path) => Some(loaded(path)?),
        None => None,
    };
    let loaded = input::load(&args.input, Analysis::new(args.input.limits()));
    if loaded.analysis.requests().is_empty() {
        report_io_errors(&loaded);
        bail!("the logs hold no audit events to measure a daily volume from");
    }
    // Without a policy only the observed volume is read; any policy gives it.
    let as_observed = Policy {
        rules: vec![policy::PolicyRule::at(auditlens_core::Level::Metadata)],
        ..Policy::default()
    };
    let simulation = volume::simulate(policy.as_ref().unwrap_or(&as_observed), &loaded.analysis, 0);
    let plan = retention::plan(&simulation, policy.is_some(), args.keep_days, args.disk);
    let policy_path = args.policy.as_ref().map(|p| p.display().to_string());
    if args.json {
        let document = serde_json::json!({
            "plan": plan,
            "flags": plan.flags(&args.log_path, policy_path.as_deref()),
        });
        serde_json::to_writer_pretty(&mut *out, &document)?;
        out.write_all(b"\n")?;
    } else {
        for flag in plan.flags(&args.log_path, policy_path.as_deref()) {
            writeln!(out, "{flag}")?;
        }
        eprint!("{}", explain_retention(&plan, policy.is_some()));
    }
    out.flush()?;
    Ok(report_io_errors(&loaded))
}

fn explain_retention(plan: &retention::Retention, simulated: bool) -> String {
    let source = if simulated {
        "the policy would write"
    } else {
        "the logs hold"
    };
    let basis = match &plan.peak_day {
        Some(day) => format!(
            "the busiest whole day {source}, {day}, took {} (the average is {} a day)",
            bytes(plan.peak_day_bytes),
            bytes(plan.average_per_day)
        ),
        None => format!(
            "{source} {} a day on average (no whole day to take the busiest of)",
            bytes(plan.average_per_day)
        ),
    };
    let mut text = format!(
        "# {} a day planned for: {basis}, plus {:.0} %.\n",
        bytes(plan.bytes_per_day),
        retention::MARGIN * 100.0
    );
    if plan.fits {
        text.push_str(&format!(
            "# {} days need {}; these flags take at most {} of the {} allowed.\n",
            plan.keep_days,
            bytes(plan.needed),
            bytes(plan.disk_used_at_most),
            bytes(plan.disk)
        ));
    } else {
        text.push_str(&format!(
            "# {} days need {}, more than the {} allowed: these flags keep about {:.1} days. \
             To keep {} days, give the log {} of disk, log less (`auditlens policy suggest`), or \
             compress rotated files with --audit-log-compress.\n",
            plan.keep_days,
            bytes(plan.needed),
            bytes(plan.disk),
            plan.days_that_fit,
            plan.keep_days,
            bytes(plan.needed + plan.max_size_mib * (1 << 20))
        ));
    }
    text
}
