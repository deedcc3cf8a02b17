//! Plain-text tables for people, sized for an 80-column terminal.

use std::fmt::Write as _;

use auditlens_core::{Diagnostic, Finding, Report, Severity, Summary};

/// Width of the terminal the table is laid out for.
pub const WIDTH: usize = 80;

/// `1234567` as `1,234,567`, as the explanations write numbers.
pub use auditlens_core::scoring::explain::thousands;

/// A byte count in B, KB, MB or GB (powers of 1000).
pub fn bytes(n: u64) -> String {
    match n {
        0..1_000 => format!("{n} B"),
        1_000..1_000_000 => format!("{:.1} KB", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", n as f64 / 1e6),
        _ => format!("{:.2} GB", n as f64 / 1e9),
    }
}

/// Cuts `text` to `width` characters, marking the cut with `…`; control characters shown as `?`.
pub fn fit(text: &str, width: usize) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if clean.chars().count() <= width {
        return clean;
    }
    let mut cut: String = clean.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The summary block: totals, time range, and one row per file.
pub fn summary(summary: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} file{}, {} lines, {} events, {} requests, {} identities",
        summary.files.len(),
        if summary.files.len() == 1 { "" } else { "s" },
        thousands(summary.lines),
        thousands(summary.events),
        thousands(summary.requests),
        thousands(summary.identities),
    );
    if let (Some(first), Some(last)) = (&summary.first, &summary.last) {
        let _ = writeln!(
            out,
            "time range: {} .. {}",
            short_time(first),
            short_time(last)
        );
    }
    let _ = writeln!(
        out,
        "diagnostics: {} ({} records rejected, {} warnings)",
        thousands(summary.diagnostics),
        thousands(summary.rejected),
        thousands(summary.warnings)
    );
    out.push('\n');
    let _ = writeln!(
        out,
        "{:<30} {:<18} {:>9} {:>9} {:>9}",
        "FILE", "FORMAT", "LINES", "EVENTS", "DIAGS"
    );
    for file in &summary.files {
        let _ = writeln!(
            out,
            "{:<30} {:<18} {:>9} {:>9} {:>9}",
            fit(&file.path, 30),
            fit(&file.format, 18),
            thousands(file.lines),
            thousands(file.events),
            thousands(file.diagnostics)
        );
        if file.format.chars().count() > 18 {
            // A cloud or shipper format is named in full below its row.
            for line in wrap(&format!("detected: {}", file.detected), WIDTH - 4) {
                let _ = writeln!(out, "    {}", fit(&line, WIDTH - 4));
            }
        }
    }
    out
}

/// `2026-03-01T10:00:00.123456Z` as `2026-03-01 10:00:00`.
fn short_time(rfc3339: &str) -> String {
    rfc3339.get(..19).unwrap_or(rfc3339).replace('T', " ")
}

/// `2026-03-01T10:00:00.123456Z` as `2026-03-01 10:00`.
fn minute(rfc3339: &str) -> String {
    rfc3339.get(..16).unwrap_or(rfc3339).replace('T', " ")
}

/// The line that leads the findings: how many need review (medium and above) and how many
/// lower notes there are beside them.
pub fn review_line(all: &[Finding]) -> String {
    let review = all
        .iter()
        .filter(|f| f.severity >= Severity::Medium)
        .count() as u64;
    let lower = all.len() as u64 - review;
    let notes = if lower == 1 { "note" } else { "notes" };
    format!(
        "findings: {} to review, and {} low or informational {notes}",
        thousands(review),
        thousands(lower)
    )
}

/// The findings listed (those at least `from`), most urgent first, each with its reasons
/// indented below it; `all` is every finding, to say what was left out.
pub fn findings(all: &[Finding], listed: &[&Finding], from: Severity, top: usize) -> String {
    let mut out = String::new();
    let hidden = (all.len() - listed.len()) as u64;
    let lower = format!("{} lower: --min-severity info", thousands(hidden));
    if listed.is_empty() {
        if hidden == 0 {
            out.push_str("No findings.\n");
        } else {
            let _ = writeln!(out, "No findings at {} or above ({lower}).", from.as_str());
        }
        return out;
    }
    if hidden == 0 {
        let _ = writeln!(out, "FINDINGS ({})", thousands(listed.len() as u64));
    } else {
        let _ = writeln!(
            out,
            "FINDINGS ({} at {} or above; {lower})",
            thousands(listed.len() as u64),
            from.as_str()
        );
    }
    let _ = writeln!(
        out,
        "{:<8} {:>5}  {:<16}  IDENTITY / REQUEST",
        "SEVERITY", "SCORE", "TIME (UTC)"
    );
    for finding in listed.iter().take(top) {
        let mut what = format!("{} {}", finding.verb, finding.resource);
        match (finding.namespace.as_str(), finding.name.as_str()) {
            ("", "") => {}
            ("", name) => what.push_str(&format!(" {name}")),
            (namespace, "") => what.push_str(&format!(" in {namespace}")),
            (namespace, name) => what.push_str(&format!(" {namespace}/{name}")),
        }
        let _ = writeln!(
            out,
            "{:<8} {:>5}  {:<16}  {}",
            finding.severity.as_str(),
            finding.score,
            fit(&minute(&finding.timestamp), 16),
            fit(&finding.identity, WIDTH - 34)
        );
        let _ = writeln!(out, "{:34}{}", "", fit(&what, WIDTH - 34));
        for reason in &finding.reasons {
            for (i, line) in wrap(&reason.message, WIDTH - 8).into_iter().enumerate() {
                let _ = writeln!(out, "    {} {line}", if i == 0 { "-" } else { " " });
            }
        }
        if !finding.rules.is_empty() {
            let rules = format!("rules: {}", finding.rules.join(", "));
            for line in wrap(&rules, WIDTH - 6) {
                let _ = writeln!(out, "      {line}");
            }
        }
    }
    if listed.len() > top {
        let _ = writeln!(
            out,
            "... and {} more (--top N shows more, --format jsonl shows all)",
            thousands((listed.len() - top) as u64)
        );
    }
    out
}

/// The first diagnostics, one per line.
pub fn diagnostics(diagnostics: &[Diagnostic], total: u64, top: usize) -> String {
    let mut out = String::new();
    if diagnostics.is_empty() {
        return out;
    }
    let _ = writeln!(out, "DIAGNOSTICS ({})", thousands(total));
    for d in diagnostics.iter().take(top) {
        let text = format!(
            "{}:{}: {} {}: {}",
            d.file,
            d.line,
            d.severity.as_str(),
            d.kind.code(),
            d.message
        );
        for (i, line) in wrap(&text, WIDTH - 2).into_iter().enumerate() {
            let _ = writeln!(out, "{}{line}", if i == 0 { "" } else { "  " });
        }
    }
    if total > top as u64 {
        let _ = writeln!(
            out,
            "... and {} more (--format json lists them)",
            thousands(total - top as u64)
        );
    }
    out
}

/// The whole report, as `analyze` prints it by default.
pub fn report(report: &Report, listed: &[&Finding], from: Severity, top: usize) -> String {
    let mut out = summary(&report.summary);
    out.push_str(&review_line(&report.findings));
    out.push_str("\n\n");
    out.push_str(&findings(&report.findings, listed, from, top));
    let diags = diagnostics(&report.diagnostics, report.summary.diagnostics, 10);
    if !diags.is_empty() {
        out.push('\n');
        out.push_str(&diags);
    }
    out
}

/// Greedy word wrap; words longer than the width are cut.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let word = fit(word, width);
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(1_500_000), "1.5 MB");
    }

    #[test]
    fn long_and_hostile_text_is_cut_and_defanged() {
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("a\x1b[31mb", 10), "a?[31mb");
        let lines = wrap("one two three four five six", 9);
        assert!(lines.iter().all(|l| l.chars().count() <= 9), "{lines:?}");
        assert_eq!(lines.join(" "), "one two three four five six");
    }
}
