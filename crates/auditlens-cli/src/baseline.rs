//! `auditlens baseline build|merge|show`: learn what is normal for every identity from a
//! stretch of logs, keep it in a versioned JSON file, and score later logs against it with
//! `auditlens analyze --baseline FILE`.
//!
//! Baselines merge associatively, so shards learned separately (one per day, one per
//! apiserver) and merged give the same counts as one pass over all of them.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use auditlens_core::{Analysis, Baseline};
use serde::Serialize;

use crate::args::{
    BaselineArgs, BaselineBuildArgs, BaselineCommand, BaselineMergeArgs, BaselineShowArgs,
};
use crate::input;
use crate::table::fit;

/// Runs the command; returns the exit status.
pub fn run(args: &BaselineArgs, out: &mut dyn Write) -> Result<u8> {
    match &args.command {
        BaselineCommand::Build(args) => build(args),
        BaselineCommand::Merge(args) => merge(args),
        BaselineCommand::Show(args) => show(args, out),
    }
}

/// Reads a baseline file, saying which file was wrong and how.
pub fn load(path: &Path) -> Result<Baseline> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read baseline {}", path.display()))?;
    Baseline::from_json(&text).with_context(|| format!("baseline {}", path.display()))
}

fn save(baseline: &Baseline, path: &Path) -> Result<()> {
    let mut json = baseline.to_json();
    json.push('\n');
    std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))
}

fn describe(baseline: &Baseline) -> String {
    let span = baseline.span().map_or(String::new(), |(first, last)| {
        format!(
            " from {} to {}",
            auditlens_core::time::format_short(first),
            auditlens_core::time::format_short(last)
        )
    });
    format!(
        "{} identities, {} requests{span}",
        baseline.identities(),
        baseline.requests()
    )
}

fn build(args: &BaselineBuildArgs) -> Result<u8> {
    let mut analysis = Analysis::new(args.input.limits());
    if let Some(path) = &args.extend {
        analysis = analysis.with_baseline(load(path)?);
    }
    let loaded = input::load(&args.input, analysis);
    let mut analysis = loaded.analysis;
    analysis.finish();
    for error in &loaded.io_errors {
        eprintln!("auditlens: cannot read {error}");
    }
    if !loaded.io_errors.is_empty() {
        return Ok(2);
    }
    let baseline = analysis.baseline();
    save(&baseline, &args.output)?;
    eprintln!(
        "auditlens: baseline of {} written to {}",
        describe(&baseline),
        args.output.display()
    );
    Ok(0)
}

fn merge(args: &BaselineMergeArgs) -> Result<u8> {
    let mut merged: Option<Baseline> = None;
    for path in &args.files {
        let baseline = load(path)?;
        match &mut merged {
            Some(m) => m.merge(&baseline),
            None => merged = Some(baseline),
        }
    }
    let merged = merged.unwrap_or_default();
    save(&merged, &args.output)?;
    eprintln!(
        "auditlens: {} baselines merged into {} ({})",
        args.files.len(),
        args.output.display(),
        describe(&merged)
    );
    Ok(0)
}

#[derive(Serialize)]
struct Shown<'a> {
    identities: usize,
    requests: u64,
    first: Option<String>,
    last: Option<String>,
    profiles: &'a [auditlens_core::IdentityProfile],
}

fn show(args: &BaselineShowArgs, out: &mut dyn Write) -> Result<u8> {
    let baseline = load(&args.file)?;
    // An empty analysis over the baseline gives the same identity profiles `analyze` shows.
    let mut analysis = Analysis::default().with_baseline(baseline.clone());
    analysis.finish();
    let profiles = analysis.identity_profiles();
    if args.json {
        let span = baseline.span();
        let shown = Shown {
            identities: baseline.identities(),
            requests: baseline.requests(),
            first: span.map(|s| auditlens_core::time::format_rfc3339(s.0)),
            last: span.map(|s| auditlens_core::time::format_rfc3339(s.1)),
            profiles,
        };
        serde_json::to_writer_pretty(&mut *out, &shown)?;
        out.write_all(b"\n")?;
        return Ok(0);
    }
    writeln!(out, "{}: {}", args.file.display(), describe(&baseline))?;
    writeln!(
        out,
        "{:<44} {:<15} {:>8}  {:<6} top resources",
        "identity", "class", "requests", "hours"
    )?;
    let mut sorted: Vec<_> = profiles.iter().collect();
    sorted.sort_by(|a, b| {
        b.requests
            .cmp(&a.requests)
            .then_with(|| a.identity.cmp(&b.identity))
    });
    for p in sorted {
        let resources: Vec<&str> = p
            .resources
            .iter()
            .take(3)
            .map(|v| v.value.as_str())
            .collect();
        writeln!(
            out,
            "{:<44} {:<15} {:>8}  {:<6} {}",
            fit(&p.identity, 44),
            p.class,
            p.requests,
            p.active_hours.as_deref().unwrap_or("-"),
            fit(&resources.join(", "), 60)
        )?;
    }
    Ok(0)
}
