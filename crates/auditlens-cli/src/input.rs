//! Reading input files into an analysis: chunk by chunk, never a whole file in memory, with
//! progress on stderr when it is a terminal. A file that cannot be opened or read is reported
//! and the others are still analysed.

use std::fs::File;
use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use auditlens_core::{Analysis, Limits};

use crate::args::InputArgs;

/// Bytes read per push.
const CHUNK: usize = 256 * 1024;

/// An analysis with every readable input pushed into it (not yet finished).
pub struct Loaded {
    pub analysis: Analysis,
    /// Files that could not be opened or read to the end, with the error.
    pub io_errors: Vec<String>,
}

impl InputArgs {
    pub fn limits(&self) -> Limits {
        Limits {
            max_record_bytes: self.max_record_bytes,
            max_decoded_bytes: self.max_decoded_bytes,
        }
    }
}

/// Reads every input into `analysis`.
pub fn load(input: &InputArgs, mut analysis: Analysis) -> Loaded {
    let total: u64 = input
        .files
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let mut progress = Progress::new(total, !input.quiet && std::io::stderr().is_terminal());
    let mut io_errors = Vec::new();
    let mut buffer = vec![0u8; CHUNK];
    for path in &input.files {
        let name = path.display().to_string();
        if let Err(e) = load_one(path, &name, &mut analysis, &mut buffer, &mut progress) {
            io_errors.push(format!("{name}: {e}"));
        }
    }
    progress.clear();
    Loaded {
        analysis,
        io_errors,
    }
}

fn load_one(
    path: &Path,
    name: &str,
    analysis: &mut Analysis,
    buffer: &mut [u8],
    progress: &mut Progress,
) -> std::io::Result<()> {
    let mut reader: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(File::open(path)?)
    };
    let file = analysis.add_file(name);
    loop {
        let read = match reader.read(buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                analysis.finish_file(file);
                return Err(e);
            }
        };
        analysis.push(file, &buffer[..read]);
        progress.advance(read as u64, analysis);
    }
    analysis.finish_file(file);
    Ok(())
}

/// A one-line progress report on stderr, redrawn at most a few times a second.
struct Progress {
    total: u64,
    done: u64,
    enabled: bool,
    started: Instant,
    last_drawn: Option<Instant>,
}

impl Progress {
    fn new(total: u64, enabled: bool) -> Self {
        Progress {
            total,
            done: 0,
            enabled,
            started: Instant::now(),
            last_drawn: None,
        }
    }

    fn advance(&mut self, bytes: u64, analysis: &Analysis) {
        self.done += bytes;
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if self
            .last_drawn
            .is_some_and(|t| now.duration_since(t) < Duration::from_millis(200))
        {
            return;
        }
        self.last_drawn = Some(now);
        let seconds = now.duration_since(self.started).as_secs_f64().max(1e-3);
        let rate = self.done as f64 / seconds;
        let events = analysis.requests().len();
        let mut line = format!(
            "\r\x1b[2K{} read, {:.0} MB/s, {events} requests",
            crate::table::bytes(self.done),
            rate / 1e6
        );
        if self.total > 0 && self.done <= self.total {
            let left = (self.total - self.done) as f64 / rate.max(1.0);
            line.push_str(&format!(
                " ({:.0}% of {}, about {:.0} s left)",
                100.0 * self.done as f64 / self.total as f64,
                crate::table::bytes(self.total),
                left
            ));
        }
        let _ = std::io::stderr().write_all(line.as_bytes());
    }

    fn clear(&self) {
        if self.enabled && self.last_drawn.is_some() {
            let _ = std::io::stderr().write_all(b"\r\x1b[2K");
        }
    }
}
