//! A bounded queue of findings on disk, for a sink that may be down.
//!
//! Findings are appended as JSON lines to numbered segment files in one folder; a cursor file
//! says how far delivery got (segment and byte offset), rewritten atomically after each
//! delivered batch. A restart goes on from the cursor, so nothing delivered is sent again and
//! nothing spooled is lost. When the segments outgrow the limit, the oldest is dropped and the
//! loss is counted and reported: a bounded spool loses the oldest findings of an outage
//! longer than it can hold, never the newest.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Segments roll over at this size.
const SEGMENT_BYTES: u64 = 1 << 20;

pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    /// Segment numbers on disk, oldest first.
    segments: Vec<u64>,
    /// Delivery position: segment and byte offset within it.
    cursor: (u64, u64),
    writer: Option<(u64, File, u64)>,
    /// Findings dropped because the spool was full.
    pub dropped: u64,
}

fn segment_name(n: u64) -> String {
    format!("{n:012}.jsonl")
}

impl Spool {
    /// Opens (or creates) the spool in `dir`.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Spool> {
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create spool {}", dir.display()))?;
        let mut segments: Vec<u64> = fs::read_dir(dir)
            .with_context(|| format!("cannot read spool {}", dir.display()))?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                name.strip_suffix(".jsonl")?.parse().ok()
            })
            .collect();
        segments.sort_unstable();
        let cursor = fs::read_to_string(dir.join("cursor"))
            .ok()
            .and_then(|text| {
                let (a, b) = text.trim().split_once(' ')?;
                Some((a.parse().ok()?, b.parse().ok()?))
            })
            .unwrap_or((segments.first().copied().unwrap_or(0), 0));
        Ok(Spool {
            dir: dir.to_path_buf(),
            max_bytes,
            segments,
            cursor,
            writer: None,
            dropped: 0,
        })
    }

    fn path(&self, n: u64) -> PathBuf {
        self.dir.join(segment_name(n))
    }

    /// Appends findings (one JSON value each); drops the oldest segments past the limit.
    pub fn append(&mut self, lines: &[String]) -> Result<()> {
        for line in lines {
            let rolled = match &self.writer {
                Some((_, _, size)) => *size >= SEGMENT_BYTES,
                None => true,
            };
            if rolled {
                let n = self.segments.last().map_or(self.cursor.0, |&last| last + 1);
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(self.path(n))
                    .with_context(|| format!("cannot write spool {}", self.dir.display()))?;
                let size = file.metadata().map(|m| m.len()).unwrap_or(0);
                if self.segments.last() != Some(&n) {
                    self.segments.push(n);
                }
                self.writer = Some((n, file, size));
            }
            if let Some((_, file, size)) = self.writer.as_mut() {
                file.write_all(line.as_bytes())?;
                file.write_all(b"\n")?;
                *size += line.len() as u64 + 1;
            }
        }
        if let Some((_, file, _)) = self.writer.as_mut() {
            file.flush()?;
        }
        self.bound()
    }

    /// Bytes on disk.
    pub fn bytes(&self) -> u64 {
        self.segments
            .iter()
            .filter_map(|&n| fs::metadata(self.path(n)).ok())
            .map(|m| m.len())
            .sum()
    }

    fn bound(&mut self) -> Result<()> {
        while self.segments.len() > 1 && self.bytes() > self.max_bytes {
            let oldest = self.segments.remove(0);
            let path = self.path(oldest);
            let from = if self.cursor.0 == oldest {
                self.cursor.1
            } else {
                0
            };
            if self.cursor.0 <= oldest {
                self.dropped += count_lines(&path, from);
                self.cursor = (self.segments[0], 0);
                self.save_cursor()?;
            }
            let _ = fs::remove_file(&path);
        }
        Ok(())
    }

    /// Up to `n` findings not yet delivered, oldest first, with the cursor past them.
    pub fn peek(&mut self, n: usize) -> Result<(Vec<String>, (u64, u64))> {
        let mut out = Vec::new();
        let mut at = self.cursor;
        for &segment in self.segments.iter().filter(|&&s| s >= self.cursor.0) {
            let offset = if segment == self.cursor.0 {
                self.cursor.1
            } else {
                0
            };
            let Ok(mut file) = File::open(self.path(segment)) else {
                continue;
            };
            file.seek(SeekFrom::Start(offset))?;
            let mut reader = BufReader::new(file);
            let mut position = offset;
            let mut line = String::new();
            while out.len() < n {
                line.clear();
                let read = reader.read_line(&mut line)?;
                // A line still being written (no newline yet) waits for the next round.
                if read == 0 || !line.ends_with('\n') {
                    break;
                }
                position += read as u64;
                out.push(line.trim_end().to_string());
            }
            at = (segment, position);
            if out.len() >= n {
                break;
            }
        }
        Ok((out, at))
    }

    /// Marks everything before `to` (from [`Spool::peek`]) delivered; removes finished
    /// segments but the one being written.
    pub fn commit(&mut self, to: (u64, u64)) -> Result<()> {
        self.cursor = to;
        let writing = self.writer.as_ref().map(|(n, _, _)| *n);
        let finished: Vec<u64> = self
            .segments
            .iter()
            .copied()
            .filter(|&s| s < to.0 && Some(s) != writing)
            .collect();
        for s in finished {
            let _ = fs::remove_file(self.path(s));
            self.segments.retain(|&k| k != s);
        }
        self.save_cursor()
    }

    fn save_cursor(&self) -> Result<()> {
        let tmp = self.dir.join("cursor.tmp");
        fs::write(&tmp, format!("{} {}\n", self.cursor.0, self.cursor.1))?;
        fs::rename(&tmp, self.dir.join("cursor"))?;
        Ok(())
    }

    /// Whether every finding was delivered.
    pub fn is_empty(&mut self) -> bool {
        self.peek(1).map(|(v, _)| v.is_empty()).unwrap_or(true)
    }
}

fn count_lines(path: &Path, from: u64) -> u64 {
    let Ok(mut file) = File::open(path) else {
        return 0;
    };
    if file.seek(SeekFrom::Start(from)).is_err() {
        return 0;
    }
    BufReader::new(file).lines().count() as u64
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("auditlens-spool-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn delivered_findings_are_not_sent_again_after_a_reopen() {
        let dir = temp("reopen");
        let mut spool = Spool::open(&dir, 1 << 30).unwrap();
        let lines: Vec<String> = (0..10).map(|i| format!("{{\"n\":{i}}}")).collect();
        spool.append(&lines).unwrap();
        let (first, to) = spool.peek(4).unwrap();
        assert_eq!(first, lines[..4]);
        spool.commit(to).unwrap();
        drop(spool);
        let mut again = Spool::open(&dir, 1 << 30).unwrap();
        let (rest, to) = again.peek(100).unwrap();
        assert_eq!(rest, lines[4..]);
        again.commit(to).unwrap();
        assert!(again.is_empty());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_full_spool_drops_the_oldest_and_counts_them() {
        let dir = temp("full");
        let mut spool = Spool::open(&dir, 3 * SEGMENT_BYTES).unwrap();
        let line = "x".repeat(1000);
        let total = 5 * SEGMENT_BYTES as usize / 1001 + 10;
        for i in 0..total {
            spool.append(&[format!("{i:08}{line}")]).unwrap();
        }
        assert!(
            spool.bytes() <= 3 * SEGMENT_BYTES + 1001 + 1,
            "{}",
            spool.bytes()
        );
        assert!(spool.dropped > 0);
        let (all, _) = spool.peek(usize::MAX).unwrap();
        assert_eq!(
            all.len() as u64 + spool.dropped,
            total as u64,
            "every finding kept or counted"
        );
        assert!(
            all.last()
                .unwrap()
                .starts_with(&format!("{:08}", total - 1)),
            "the newest kept"
        );
        let _ = fs::remove_dir_all(&dir);
    }
}
