//! Nothing in the input can make ingestion panic, and the accounting holds for any damage:
//! every fixture (native, cloud and log-shipper forms, plain and gzip) is cut, bit-flipped and
//! spliced in many ways, fed whole and in odd chunks.

// Tests read their fixtures from disk and fail loudly.
#![allow(clippy::disallowed_methods, clippy::unwrap_used)]

use std::io::Read;

use auditlens_core::{Analysis, Limits};

fn inputs() -> Vec<Vec<u8>> {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut out = Vec::new();
    for dir in [
        "tests/fixtures/ingest",
        "tests/fixtures/formats",
        "tests/fixtures/third-party/falco",
        "tests/fixtures/third-party/aks-sysdig",
    ] {
        let mut paths: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.extension().is_some_and(|x| {
                    ["json", "jsonl", "ndjson", "csv", "gz"].contains(&x.to_str().unwrap_or(""))
                })
            })
            .collect();
        paths.sort();
        for path in paths {
            let bytes = std::fs::read(&path).unwrap();
            if bytes.starts_with(&[0x1f, 0x8b]) {
                // The plain form too, so damage reaches the records and not only the gzip.
                let mut plain = Vec::new();
                flate2::read::MultiGzDecoder::new(&bytes[..])
                    .read_to_end(&mut plain)
                    .unwrap();
                out.push(plain);
            }
            out.push(bytes);
        }
    }
    out
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(input: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut bytes = input.to_vec();
    match rng.below(5) {
        0 => bytes.truncate(rng.below(bytes.len())),
        1 => {
            for _ in 0..1 + rng.below(20) {
                let i = rng.below(bytes.len());
                if let Some(b) = bytes.get_mut(i) {
                    *b ^= 1 << rng.below(8);
                }
            }
        }
        2 => {
            let i = rng.below(bytes.len());
            let specials = [b'{', b'}', b'[', b']', b'"', b'\\', b'\n', b',', 0xff, 0x1f];
            bytes.insert(i, specials[rng.below(specials.len())]);
        }
        3 => {
            let (a, b) = (rng.below(bytes.len()), rng.below(bytes.len()));
            let (a, b) = (a.min(b), a.max(b));
            bytes.drain(a..b);
        }
        _ => {
            let i = rng.below(bytes.len());
            let tail = bytes[i..].to_vec();
            bytes.extend_from_slice(&tail);
        }
    }
    bytes
}

#[test]
fn damaged_input_never_panics_and_stays_accounted() {
    let mut rng = Rng(0x5eed_1234_abcd_9876);
    let limits = Limits {
        max_record_bytes: 2048,
        ..Limits::default()
    };
    for input in inputs() {
        for _ in 0..40 {
            let damaged = mutate(&input, &mut rng);
            let chunk = 1 + rng.below(600);
            let mut analysis = Analysis::new(limits);
            let file = analysis.add_file("damaged");
            for piece in damaged.chunks(chunk) {
                analysis.push(file, piece);
            }
            analysis.finish();
            let s = analysis.summary();
            assert_eq!(s.records, s.accepted + s.rejected + s.skipped);
            for f in &s.files {
                assert_eq!(f.records, f.accepted + f.rejected + f.skipped);
            }
            assert!(s.events >= s.accepted);
            assert!(s.diagnostics >= s.rejected);
        }
    }
}
