//! Decoding: gzip detection and streaming decompression, with a limit on the decompressed size.
//!
//! A file is gzip when it starts with the magic bytes `1f 8b`, whatever its name (rotated logs
//! are named `audit-2026-03-01T10-00-00.000.log.gz`, exports often lose the suffix). Several
//! gzip members in a row (concatenated or appended rotations) are read as one stream. Input is
//! fed to the decompressor in small slices so that the output of one push stays small, even
//! for a highly compressed file.

use std::io::Write;

use flate2::write::MultiGzDecoder;

/// Compressed bytes handed to the decompressor at a time; bounds the output per step.
const INFLATE_STEP: usize = 16 * 1024;

/// How the bytes of a file are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Plain,
    Gzip,
}

/// Why decoding stopped early.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DecodeStop {
    /// More than the limit of decompressed bytes.
    Limit,
    /// Inflating past the ratio limit, after `compressed` bytes of input.
    Ratio { compressed: u64 },
    /// The gzip stream is corrupt or cut short.
    Corrupt(String),
}

#[derive(Debug)]
enum State {
    /// Waiting for the first two bytes.
    Sniffing(Vec<u8>),
    Plain,
    Gzip(Box<MultiGzDecoder<Vec<u8>>>),
    Stopped,
}

/// Turns pushed file bytes into plain bytes.
#[derive(Debug)]
pub(crate) struct Decoder {
    state: State,
    encoding: Option<Encoding>,
    /// Decompressed (or plain) bytes produced so far.
    pub produced: u64,
    pub limit: u64,
    /// Compressed bytes handed to the decompressor so far.
    consumed: u64,
    /// The most decompressed bytes per compressed byte; 0 for no limit.
    pub max_ratio: u32,
}

impl Decoder {
    pub fn new(limit: u64, max_ratio: u32) -> Self {
        Decoder {
            state: State::Sniffing(Vec::new()),
            encoding: None,
            produced: 0,
            limit,
            consumed: 0,
            max_ratio,
        }
    }

    /// The detected encoding, once known.
    pub fn encoding(&self) -> Option<Encoding> {
        self.encoding
    }

    /// A decoder of a plain file that already produced `produced` bytes.
    pub fn plain(limit: u64, produced: u64) -> Self {
        Decoder {
            state: State::Plain,
            encoding: Some(Encoding::Plain),
            produced,
            limit,
            consumed: 0,
            max_ratio: 0,
        }
    }

    /// Decodes `bytes`, handing plain output to `out` piece by piece.
    pub fn push(&mut self, bytes: &[u8], out: &mut dyn FnMut(&[u8])) -> Result<(), DecodeStop> {
        if let State::Sniffing(head) = &mut self.state {
            head.extend_from_slice(bytes);
            if head.len() < 2 {
                return Ok(());
            }
            let head = std::mem::take(head);
            self.state = if head.starts_with(&[0x1f, 0x8b]) {
                self.encoding = Some(Encoding::Gzip);
                State::Gzip(Box::new(MultiGzDecoder::new(Vec::new())))
            } else {
                self.encoding = Some(Encoding::Plain);
                State::Plain
            };
            return self.push(&head, out);
        }
        match &mut self.state {
            State::Sniffing(_) | State::Stopped => Ok(()),
            State::Plain => {
                let room = self.limit.saturating_sub(self.produced);
                let take = bytes.len().min(usize::try_from(room).unwrap_or(usize::MAX));
                self.produced += take as u64;
                out(&bytes[..take]);
                if take < bytes.len() {
                    self.state = State::Stopped;
                    return Err(DecodeStop::Limit);
                }
                Ok(())
            }
            State::Gzip(_) => {
                let State::Gzip(mut decoder) = std::mem::replace(&mut self.state, State::Stopped)
                else {
                    return Ok(());
                };
                for step in bytes.chunks(INFLATE_STEP) {
                    let written = decoder.write_all(step);
                    self.consumed += step.len() as u64;
                    let mut plain = std::mem::take(decoder.get_mut());
                    self.emit_limited(&plain, out)?;
                    written.map_err(|e| DecodeStop::Corrupt(e.to_string()))?;
                    self.check_ratio()?;
                    plain.clear();
                    *decoder.get_mut() = plain;
                }
                self.state = State::Gzip(decoder);
                Ok(())
            }
        }
    }

    /// Stops a stream that inflates past the ratio limit, once it is past the floor.
    fn check_ratio(&self) -> Result<(), DecodeStop> {
        let too_much = self.max_ratio > 0
            && self.produced >= super::RATIO_FLOOR
            && self.produced > u64::from(self.max_ratio).saturating_mul(self.consumed);
        if too_much {
            return Err(DecodeStop::Ratio {
                compressed: self.consumed,
            });
        }
        Ok(())
    }

    fn emit_limited(&mut self, plain: &[u8], out: &mut dyn FnMut(&[u8])) -> Result<(), DecodeStop> {
        let room = self.limit.saturating_sub(self.produced);
        let take = plain.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        self.produced += take as u64;
        out(&plain[..take]);
        if take < plain.len() {
            return Err(DecodeStop::Limit);
        }
        Ok(())
    }

    /// Ends the stream: a gzip stream must be complete.
    pub fn finish(&mut self, out: &mut dyn FnMut(&[u8])) -> Result<(), DecodeStop> {
        match std::mem::replace(&mut self.state, State::Stopped) {
            State::Sniffing(head) => {
                self.state = State::Plain;
                if !head.is_empty() {
                    self.encoding = Some(Encoding::Plain);
                }
                let result = self.push(&head, out);
                self.state = State::Stopped;
                result
            }
            State::Gzip(mut decoder) => {
                let flushed = decoder.try_finish();
                let produced = std::mem::take(decoder.get_mut());
                self.emit_limited(&produced, out)?;
                flushed.map_err(|e| DecodeStop::Corrupt(e.to_string()))
            }
            State::Plain | State::Stopped => Ok(()),
        }
    }
}
