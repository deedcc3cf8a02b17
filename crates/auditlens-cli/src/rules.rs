//! `auditlens rules`: the detection rule catalog, and the rule configuration file that
//! `analyze --config` reads.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use auditlens_core::rules::{RuleConfig, RuleEngine};

use crate::args::RulesArgs;

/// Reads and checks a rule configuration file; errors name the file.
pub fn load_config(path: &Path) -> Result<RuleConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read rule configuration {}", path.display()))?;
    RuleConfig::parse(&text).with_context(|| format!("rule configuration {}", path.display()))
}

/// Lists the catalog: id, severity, audit level needed, ATT&CK techniques.
pub fn run(args: &RulesArgs, out: &mut dyn Write) -> Result<u8> {
    let config = match &args.config {
        Some(path) => load_config(path)?,
        None => RuleConfig::default(),
    };
    let engine = RuleEngine::new(config);
    let catalog = engine.catalog();
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &catalog)?;
        out.write_all(b"\n")?;
        return Ok(0);
    }
    writeln!(
        out,
        "{:<36} {:<8} {:<8} ATT&CK",
        "RULE", "SEVERITY", "LEVEL"
    )?;
    let mut family = "";
    for status in &catalog {
        let meta = status.meta;
        if meta.family != family {
            family = meta.family;
            writeln!(out, "\n{family}")?;
        }
        let level = match meta.level {
            auditlens_core::Level::RequestResponse => "Req+Resp",
            auditlens_core::Level::Request => "Request",
            _ => "Metadata",
        };
        let state = if status.enabled { "" } else { " (off)" };
        writeln!(
            out,
            "{:<36} {:<8} {:<8} {}",
            format!("{}{state}", meta.id),
            meta.severity.as_str(),
            level,
            meta.techniques.join(",")
        )?;
    }
    let enabled = catalog.iter().filter(|s| s.enabled).count();
    writeln!(
        out,
        "\n{} rules, {enabled} enabled. `docs/rules.md` describes each one.",
        catalog.len()
    )?;
    Ok(0)
}
