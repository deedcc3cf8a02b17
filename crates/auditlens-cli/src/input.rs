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
pub const CHUNK: usize = 256 * 1024;

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
            max_gzip_ratio: self.max_gzip_ratio,
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
    let threads = input
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mut io_errors = Vec::new();
    let mut buffer = vec![0u8; CHUNK];
    for path in &input.files {
        let name = path.display().to_string();
        progress.start_file();
        let result = match parts(path, threads) {
            Some((size, starts)) => {
                let file = analysis.add_file(&name);
                let result = crate::parallel::load(
                    path,
                    size,
                    &starts,
                    threads,
                    &mut analysis,
                    file,
                    &mut progress,
                );
                analysis.finish_file(file);
                result
            }
            None => load_one(path, &name, &mut analysis, &mut buffer, &mut progress),
        };
        if let Err(e) = result {
            io_errors.push(format!("{name}: {e}"));
        }
    }
    progress.clear();
    Loaded {
        analysis,
        io_errors,
    }
}

/// The size and part starts of a file worth reading on several threads, or `None`.
fn parts(path: &Path, threads: usize) -> Option<(u64, Vec<u64>)> {
    if threads < 2 || path.as_os_str() == "-" {
        return None;
    }
    let size = std::fs::metadata(path).ok()?.len();
    if !crate::parallel::is_plain(path).ok()? {
        return None;
    }
    let starts = crate::parallel::cuts(path, size, threads).ok()?;
    (starts.len() > 1).then_some((size, starts))
}

fn load_one(
    path: &Path,
    name: &str,
    analysis: &mut Analysis,
    buffer: &mut [u8],
    progress: &mut Progress,
) -> std::io::Result<()> {
    let (mut reader, size): (Box<dyn Read>, Option<u64>) = if path.as_os_str() == "-" {
        (Box::new(std::io::stdin().lock()), None)
    } else {
        let opened = File::open(path)?;
        let size = opened.metadata().ok().map(|m| m.len());
        (Box::new(opened), size)
    };
    let file = analysis.add_file(name);
    if let Some(size) = size {
        analysis.set_file_size(file, size);
    }
    let result = read_chunks(&mut reader, buffer, &mut |chunk| {
        analysis.push(file, chunk);
        progress.advance(chunk.len() as u64);
    });
    analysis.finish_file(file);
    result
}

/// Hands everything `reader` gives to `push`, `buffer.len()` bytes at a time at most.
pub fn read_chunks(
    reader: &mut dyn Read,
    buffer: &mut [u8],
    push: &mut dyn FnMut(&[u8]),
) -> std::io::Result<()> {
    loop {
        match reader.read(buffer) {
            Ok(0) => return Ok(()),
            Ok(n) => push(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// A one-line progress report on stderr, redrawn at most a few times a second.
pub struct Progress {
    total: u64,
    done: u64,
    /// Bytes of the files before the current one.
    base: u64,
    enabled: bool,
    started: Instant,
    last_drawn: Option<Instant>,
}

impl Progress {
    fn new(total: u64, enabled: bool) -> Self {
        Progress {
            total,
            done: 0,
            base: 0,
            enabled,
            started: Instant::now(),
            last_drawn: None,
        }
    }

    fn start_file(&mut self) {
        self.base = self.done;
    }

    fn advance(&mut self, bytes: u64) {
        self.done += bytes;
        self.draw();
    }

    /// Sets how much of the current file is read.
    pub fn set(&mut self, file_done: u64) {
        self.done = self.base + file_done;
        self.draw();
    }

    fn draw(&mut self) {
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
        let mut line = format!(
            "\r\x1b[2K{} read, {:.0} MB/s",
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
