//! `auditlens simulate`: a realistic cluster's audit log, for demos, tests and benchmarks.

use std::fs::File;
use std::io::{BufWriter, Write};

use anyhow::{Context, Result};
use auditlens_sim::{SimConfig, Simulator};
use flate2::write::GzEncoder;

use crate::args::{Preset, SimulateArgs};

/// Runs the command; returns the process exit status.
pub fn run(args: &SimulateArgs, stdout: &mut dyn Write) -> Result<u8> {
    let mut config = match args.preset {
        Preset::Demo => SimConfig::demo(),
        Preset::Bench => SimConfig::benchmark(args.size.unwrap_or(100_000_000)),
    };
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    if let Some(size) = args.size {
        config.target_bytes = Some(size);
    }
    if let Some(days) = args.days {
        config.days = days;
    }
    let mut simulator = Simulator::new(config);
    match &args.output {
        Some(path) => {
            let file =
                File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
            let gzip = path.extension().is_some_and(|e| e == "gz");
            let mut sink: Box<dyn Write> = if gzip {
                Box::new(GzEncoder::new(
                    BufWriter::new(file),
                    flate2::Compression::default(),
                ))
            } else {
                Box::new(BufWriter::new(file))
            };
            write_lines(&mut simulator, &mut sink)
                .with_context(|| format!("cannot write {}", path.display()))?;
            drop(sink);
        }
        None => write_lines(&mut simulator, stdout)?,
    }
    if let Some(path) = &args.labels {
        let mut file = BufWriter::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        );
        for label in simulator.labels() {
            serde_json::to_writer(&mut file, label)?;
            file.write_all(b"\n")?;
        }
        file.flush()?;
    }
    Ok(0)
}

fn write_lines(simulator: &mut Simulator, out: &mut dyn Write) -> Result<()> {
    let mut buffer = Vec::with_capacity(1 << 20);
    while simulator.next_line(&mut buffer) {
        if buffer.len() >= 1 << 20 {
            out.write_all(&buffer)?;
            buffer.clear();
        }
    }
    out.write_all(&buffer)?;
    out.flush()?;
    Ok(())
}
