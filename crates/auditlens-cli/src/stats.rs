//! `auditlens stats`: what is in these logs, by the numbers.

use std::fmt::Write as _;
use std::io::Write;

use anyhow::Result;
use auditlens_core::stats::{self, Count, Stats};
use auditlens_core::Analysis;

use crate::args::StatsArgs;
use crate::input;
use crate::table::{fit, thousands};

/// Runs the command; returns the process exit status.
pub fn run(args: &StatsArgs, out: &mut dyn Write) -> Result<u8> {
    let loaded = input::load(&args.input, Analysis::new(args.input.limits()));
    let mut analysis = loaded.analysis;
    analysis.finish();
    let stats = stats::compute(&analysis, args.top);
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &stats)?;
        out.write_all(b"\n")?;
    } else {
        out.write_all(render(&stats).as_bytes())?;
    }
    out.flush()?;
    for error in &loaded.io_errors {
        eprintln!("auditlens: cannot read {error}");
    }
    Ok(if loaded.io_errors.is_empty() { 0 } else { 2 })
}

fn render(stats: &Stats) -> String {
    let mut out = format!("{} requests\n", thousands(stats.requests));
    let sections: [(&str, &[Count]); 6] = [
        ("IDENTITY", &stats.identities),
        ("VERB", &stats.verbs),
        ("RESOURCE", &stats.resources),
        ("NAMESPACE", &stats.namespaces),
        ("RESPONSE CODE", &stats.codes),
        ("CLIENT", &stats.clients),
    ];
    for (title, counts) in sections {
        let _ = writeln!(out, "\n{title:<60} {:>10} {:>6}", "REQUESTS", "SHARE");
        for count in counts {
            let share = 100.0 * count.count as f64 / stats.requests.max(1) as f64;
            let _ = writeln!(
                out,
                "{:<60} {:>10} {:>5.1}%",
                fit(&count.value, 60),
                thousands(count.count),
                share
            );
        }
    }
    out
}
