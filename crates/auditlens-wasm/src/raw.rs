//! Re-reading one raw event from a gzip file, for the detail view.
//!
//! The session keeps no raw events: each request records the byte range of its record in its
//! file's decoded stream. For a plain file the page slices the `File`; for a gzip file the range
//! lies in the decompressed data, so the page streams the file through a [`GzipRange`], which
//! inflates it exactly as the core's reader does (every gzip member in turn) and keeps only the
//! bytes of that range. The browser's own `DecompressionStream` stops at the end of the first
//! member, which is why this exists.

use std::io::Write;

use flate2::write::MultiGzDecoder;
use wasm_bindgen::prelude::*;

use crate::into_error;

/// Keeps the decoded bytes `start..end` and counts the rest.
struct RangeSink {
    position: u64,
    start: u64,
    end: u64,
    kept: Vec<u8>,
}

impl Write for RangeSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let (from, to) = (self.position, self.position + buf.len() as u64);
        if to > self.start && from < self.end {
            let a = (self.start.max(from) - from) as usize;
            let b = (self.end.min(to) - from) as usize;
            self.kept.extend_from_slice(&buf[a..b]);
        }
        self.position = to;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Inflates pushed gzip chunks and keeps the decoded bytes `offset..offset + len`.
#[wasm_bindgen]
pub struct GzipRange {
    decoder: MultiGzDecoder<RangeSink>,
}

#[wasm_bindgen]
impl GzipRange {
    /// A reader for `len` bytes at `offset` of the decompressed stream (offsets as numbers:
    /// exact up to 2^53 bytes).
    #[wasm_bindgen(constructor)]
    pub fn new(offset: f64, len: u32) -> GzipRange {
        let start = offset.max(0.0) as u64;
        GzipRange {
            decoder: MultiGzDecoder::new(RangeSink {
                position: 0,
                start,
                end: start + u64::from(len),
                kept: Vec::with_capacity(len as usize),
            }),
        }
    }

    /// Inflates the next chunk of the file; true once the whole range is in.
    pub fn push(&mut self, chunk: &[u8]) -> Result<bool, JsValue> {
        // Flushing hands every byte inflated so far to the sink, so `complete` is exact.
        self.decoder
            .write_all(chunk)
            .and_then(|()| self.decoder.flush())
            .map_err(|e| into_error(format!("the gzip stream is corrupt: {e}")))?;
        Ok(self.complete())
    }

    /// True once the whole range is in.
    pub fn complete(&self) -> bool {
        let sink = self.decoder.get_ref();
        sink.position >= sink.end
    }

    /// The bytes of the range read so far (all of it once `complete`).
    pub fn bytes(&self) -> Vec<u8> {
        self.decoder.get_ref().kept.clone()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn gzip(text: &str) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(text.as_bytes()).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn a_range_in_a_later_member_is_found_in_any_chunking() {
        let mut file = gzip("first line\n");
        file.extend(gzip("second line\nthird line\n"));
        let offset = "first line\nsecond line\n".len();
        for chunk in [1, 3, 4096] {
            let mut range = GzipRange::new(offset as f64, 10);
            let mut complete = false;
            for piece in file.chunks(chunk) {
                complete = range.push(piece).unwrap();
            }
            assert!(complete);
            assert_eq!(range.bytes(), b"third line");
        }
    }

    #[test]
    fn a_range_past_the_end_stays_incomplete() {
        let mut range = GzipRange::new(100.0, 5);
        assert!(!range.push(&gzip("short\n")).unwrap());
        assert!(range.bytes().is_empty());
    }
}
