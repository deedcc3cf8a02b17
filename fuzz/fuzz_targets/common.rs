#![allow(dead_code)] // each target uses what it needs
//! What every target that reads a log checks: nothing panics, every line and record is
//! accounted for, and the result does not depend on how the bytes were cut into chunks.

use auditlens_core::{Analysis, Limits, Summary};

/// Analyses `bytes` as one file pushed in `chunk`-byte pieces, with small limits so that the
/// limits themselves are exercised.
pub fn analyse(bytes: &[u8], chunk: usize) -> Analysis {
    let limits = Limits {
        max_record_bytes: 4096,
        max_decoded_bytes: 1 << 20,
        ..Limits::default()
    };
    let mut analysis = Analysis::new(limits);
    let file = analysis.add_file("fuzz.log");
    for piece in bytes.chunks(chunk.max(1)) {
        analysis.push(file, piece);
    }
    analysis.finish();
    analysis
}

/// Every line and record of the file is accounted for.
pub fn accounted(summary: &Summary) {
    let file = &summary.files[0];
    assert_eq!(
        file.records,
        file.accepted + file.rejected + file.skipped,
        "{file:?}"
    );
    assert!(file.lines >= file.blank_lines, "{file:?}");
}

/// Reads with the first byte choosing the chunk size, and checks the result against one push.
pub fn read_both_ways(data: &[u8]) {
    let Some((&first, bytes)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(first % 64) + 1;
    let pieces = analyse(bytes, chunk);
    let whole = analyse(bytes, bytes.len().max(1));
    accounted(&pieces.summary());
    assert_eq!(pieces.summary(), whole.summary(), "chunk {chunk}");
    assert_eq!(pieces.diagnostics(), whole.diagnostics(), "chunk {chunk}");
    assert_eq!(
        pieces.findings().len(),
        whole.findings().len(),
        "chunk {chunk}"
    );
}
