//! `auditlens analyze`: read the inputs, finish the analysis, print it in the chosen format.

use std::io::Write;

use anyhow::Result;
use auditlens_core::export::{self, Schema};
use auditlens_core::{Analysis, Finding, Report, Severity};

use crate::args::{AnalyzeArgs, Format};
use crate::input;

/// Runs the command; returns the process exit status.
pub fn run(args: &AnalyzeArgs, out: &mut dyn Write) -> Result<u8> {
    let rules = match &args.config {
        Some(path) => crate::rules::load_config(path)?,
        None => auditlens_core::rules::RuleConfig::default(),
    };
    let mut analysis = Analysis::new(args.input.limits()).with_rules(rules);
    if let Some(path) = &args.baseline {
        analysis = analysis.with_baseline(crate::baseline::load(path)?);
    }
    if args.no_hindsight {
        analysis = analysis.without_hindsight();
    }
    let loaded = input::load(&args.input, analysis);
    let mut analysis = loaded.analysis;
    analysis.finish();
    let report = analysis.report();
    write_report(&analysis, &report, args, out)?;
    for error in &loaded.io_errors {
        eprintln!("auditlens: cannot read {error}");
    }
    if !loaded.io_errors.is_empty() {
        return Ok(2);
    }
    let failed = args
        .fail_on
        .is_some_and(|threshold| report.findings.iter().any(|f| f.severity >= threshold));
    Ok(u8::from(failed))
}

fn write_report(
    analysis: &Analysis,
    report: &Report,
    args: &AnalyzeArgs,
    out: &mut dyn Write,
) -> Result<()> {
    let from = args.listed_from();
    let listed: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.severity >= from)
        .collect();
    match args.format {
        Format::Table => {
            let table = crate::table::report(report, &listed, from, args.top);
            out.write_all(table.as_bytes())?;
        }
        Format::Json => {
            if listed.len() == report.findings.len() {
                serde_json::to_writer_pretty(&mut *out, report)?;
            } else {
                let shown = Report {
                    findings: listed.into_iter().cloned().collect(),
                    ..report.clone()
                };
                serde_json::to_writer_pretty(&mut *out, &shown)?;
            }
            out.write_all(b"\n")?;
        }
        Format::Jsonl => {
            for finding in listed {
                serde_json::to_writer(&mut *out, finding)?;
                out.write_all(b"\n")?;
            }
        }
        Format::Csv => write_csv(&listed, out)?,
        Format::Ocsf => write_records(analysis, Schema::Ocsf, from, out)?,
        Format::Ecs => write_records(analysis, Schema::Ecs, from, out)?,
    }
    out.flush()?;
    Ok(())
}

/// The listed findings as OCSF or ECS records, one JSON document per line.
fn write_records(
    analysis: &Analysis,
    schema: Schema,
    from: Severity,
    out: &mut dyn Write,
) -> Result<()> {
    for record in export::records(analysis, schema, |f| f.severity >= from) {
        serde_json::to_writer(&mut *out, &record)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// Columns of the CSV output, in order.
pub const CSV_COLUMNS: [&str; 13] = [
    "auditID",
    "timestamp",
    "identity",
    "verb",
    "resource",
    "namespace",
    "name",
    "severity",
    "score",
    "reasons",
    "rules",
    "file",
    "line",
];

fn write_csv(findings: &[&Finding], out: &mut dyn Write) -> Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(CSV_COLUMNS)?;
    for f in findings {
        let reasons: Vec<&str> = f.reasons.iter().map(|r| r.message.as_str()).collect();
        let score = f.score.to_string();
        let line = f.line.to_string();
        let row = [
            f.audit_id.as_deref().unwrap_or_default(),
            &f.timestamp,
            &f.identity,
            &f.verb,
            &f.resource,
            &f.namespace,
            &f.name,
            f.severity.as_str(),
            &score,
            &reasons.join("; "),
            &f.rules.join(" "),
            &f.file,
            &line,
        ];
        writer.write_record(row.iter().map(|cell| spreadsheet_safe(cell).into_owned()))?;
    }
    writer.flush()?;
    Ok(())
}

/// Log fields are attacker-controlled: a cell that a spreadsheet would run as a formula is
/// prefixed with `'` so that it shows as text.
fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused() {
        assert_eq!(spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_safe("alice"), "alice");
        assert_eq!(spreadsheet_safe(""), "");
    }
}
