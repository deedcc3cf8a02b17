//! Arbitrary bytes behind a gzip header (a damaged or hostile gzip stream), and arbitrary
//! bytes gzip-compressed (what the decompressed stream holds must read as it does plain).
#![no_main]

use std::io::Write;

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    if first & 1 == 0 {
        // A gzip header, then whatever follows.
        let mut bytes = vec![0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff];
        bytes.extend_from_slice(rest);
        let analysis = common::analyse(&bytes, usize::from(first % 32) + 1);
        common::accounted(&analysis.summary());
    } else if rest.starts_with(&[0x1f, 0x8b]) {
        // Bytes that are themselves gzip are read as gzip when plain too, and once only when
        // compressed again: nothing to compare (found by this target: a gzip of a gzip).
    } else {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(rest).unwrap();
        let compressed = encoder.finish().unwrap();
        let gzip = common::analyse(&compressed, usize::from(first % 32) + 1);
        let plain = common::analyse(rest, rest.len().max(1));
        let (mut g, mut p) = (gzip.summary(), plain.summary());
        // The bytes read differ (compressed); everything decoded must be the same.
        g.files[0].bytes = 0;
        p.files[0].bytes = 0;
        g.files[0].format = p.files[0].format.clone();
        g.files[0].detected = p.files[0].detected.clone();
        assert_eq!(g, p);
    }
});
