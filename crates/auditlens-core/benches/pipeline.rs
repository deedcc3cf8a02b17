//! Throughput of each stage of the pipeline over simulated logs of several sizes.
//!
//! `cargo bench -p auditlens-core --bench pipeline` (or `make bench`). Each group reports bytes
//! per second of log, so stages compare directly:
//! - `ingest`: decode, frame and parse (serde) with a sink that drops the events;
//! - `normalize`: the above plus normalizing, interning and merging stages (rules off);
//! - `rules`: the above with the built-in rules on;
//! - `finish`: sorting, baselines, scoring and incidents over an ingested analysis.

#![allow(clippy::unwrap_used)]

use std::hint::black_box;

use auditlens_core::ingest::{FileReader, Sink, WireEvent};
use auditlens_core::rules::RuleConfig;
use auditlens_core::{Analysis, Diagnostic, Limits, Source};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};

/// Sizes of the simulated logs, in bytes.
const SIZES: [u64; 2] = [4_000_000, 32_000_000];
/// Bytes pushed at a time, as the CLI reads them.
const CHUNK: usize = 256 * 1024;

/// Counts what it is given and keeps nothing.
#[derive(Default)]
struct CountingSink {
    events: u64,
    diagnostics: u64,
}

impl Sink for CountingSink {
    fn event(&mut self, event: &WireEvent<'_>, _source: Source, _index: u32, _truncated: bool) {
        self.events += u64::from(event.verb.is_some());
    }

    fn diagnostic(&mut self, _diagnostic: Diagnostic) {
        self.diagnostics += 1;
    }
}

fn rules_off() -> RuleConfig {
    RuleConfig {
        disabled: vec!["k8s".to_string()],
        ..RuleConfig::default()
    }
}

fn ingested(log: &[u8], rules: RuleConfig) -> Analysis {
    let mut analysis = Analysis::new(Limits::default()).with_rules(rules);
    let file = analysis.add_file("bench.log");
    for chunk in log.chunks(CHUNK) {
        analysis.push(file, chunk);
    }
    analysis.finish_file(file);
    analysis
}

fn stages(c: &mut Criterion) {
    for size in SIZES {
        let log = auditlens_sim::benchmark_log(size);
        let mut group = c.benchmark_group("pipeline");
        group.sample_size(10);
        group.throughput(Throughput::Bytes(log.len() as u64));
        let mb = format!("{}MB", size / 1_000_000);
        group.bench_with_input(BenchmarkId::new("ingest", &mb), &log, |b, log| {
            b.iter(|| {
                let mut reader = FileReader::new("bench.log", 0, Limits::default());
                let mut sink = CountingSink::default();
                for chunk in log.chunks(CHUNK) {
                    reader.push(chunk, &mut sink);
                }
                reader.finish(&mut sink);
                black_box((sink.events, sink.diagnostics))
            });
        });
        group.bench_with_input(BenchmarkId::new("normalize", &mb), &log, |b, log| {
            b.iter(|| black_box(ingested(log, rules_off()).requests().len()));
        });
        group.bench_with_input(BenchmarkId::new("rules", &mb), &log, |b, log| {
            b.iter(|| black_box(ingested(log, RuleConfig::default()).requests().len()));
        });
        group.bench_with_input(BenchmarkId::new("finish", &mb), &log, |b, log| {
            b.iter_batched(
                || ingested(log, RuleConfig::default()),
                |mut analysis| {
                    analysis.finish();
                    black_box(analysis.findings().len())
                },
                BatchSize::LargeInput,
            );
        });
        group.finish();
    }
}

criterion_group!(benches, stages);
criterion_main!(benches);
