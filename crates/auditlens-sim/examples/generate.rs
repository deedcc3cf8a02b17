//! Writes a simulated audit log to stdout and its labels to stderr.
//!
//! `cargo run --release -p auditlens-sim --example generate -- demo > demo.ndjson 2> labels.jsonl`
//! `cargo run --release -p auditlens-sim --example generate -- demo:11` (another seed)
//! `cargo run --release -p auditlens-sim --example generate -- 1000000000 > bench.ndjson`

use std::io::{self, Write};

use auditlens_sim::{SimConfig, Simulator};

fn main() -> io::Result<()> {
    let arg = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "demo".to_string());
    let config = match (
        arg.parse::<u64>(),
        arg.strip_prefix("demo:").map(str::parse::<u64>),
    ) {
        (Ok(bytes), _) => SimConfig::benchmark(bytes),
        (_, Some(Ok(seed))) => SimConfig {
            seed,
            ..SimConfig::demo()
        },
        _ => SimConfig::demo(),
    };
    let mut sim = Simulator::new(config);
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut buf = Vec::with_capacity(1 << 20);
    while sim.next_line(&mut buf) {
        if buf.len() >= 1 << 20 {
            out.write_all(&buf)?;
            buf.clear();
        }
    }
    out.write_all(&buf)?;
    let mut err = io::stderr().lock();
    for label in sim.labels() {
        serde_json::to_writer(&mut err, label)?;
        err.write_all(b"\n")?;
    }
    Ok(())
}
