//! Following files as they grow, the way `tail -F` does, and reading stdin, each on a thread
//! of its own that hands chunks to `watch` through a bounded channel (a reader never gets
//! further ahead than a few chunks, so a slow analysis slows reading rather than filling
//! memory).
//!
//! Rotation: the kube-apiserver log backend renames `audit.log` to `audit-<time>.log` and
//! opens a new `audit.log`. A follower notices that the path names another file (device and
//! inode), reads the old one to its end, says so, and goes on with the new one from its
//! start. A file truncated in place (`copytruncate`) is read again from its start.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;
use std::time::Duration;

/// Bytes read per chunk.
const CHUNK: usize = 256 * 1024;

/// Which file a path named: device and inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileIdentity {
    pub dev: u64,
    pub ino: u64,
}

impl FileIdentity {
    fn of(metadata: &std::fs::Metadata) -> Self {
        FileIdentity {
            dev: metadata.dev(),
            ino: metadata.ino(),
        }
    }
}

/// What a follower reports.
pub enum Input {
    /// A file was opened at `offset`, where line `line` (1-based) starts: the bytes that
    /// follow belong to it.
    Opened {
        follower: usize,
        identity: FileIdentity,
        offset: u64,
        line: u64,
    },
    Data {
        follower: usize,
        bytes: Vec<u8>,
    },
    /// The file read so far has ended (rotated away and read to its end, truncated, or stdin
    /// closed).
    Ended {
        follower: usize,
    },
    /// A problem worth telling (the file is missing, a read failed); following goes on.
    Problem {
        message: String,
    },
}

/// Where a follower starts in the file it finds first.
#[derive(Clone, Copy, Debug)]
pub enum Start {
    Beginning,
    End,
    /// At this offset (where this line starts), if the path still names this file. If it
    /// names another, the file was rotated meanwhile: its rest is read first when it is found
    /// beside the path, then the new file from its beginning.
    At(FileIdentity, u64, u64),
}

/// Follows `path` until `stop` is set.
pub fn follow(
    follower: usize,
    path: PathBuf,
    start: Start,
    poll: Duration,
    tx: SyncSender<Input>,
    stop: Arc<AtomicBool>,
) {
    let mut buffer = vec![0u8; CHUNK];
    if let Start::At(identity, offset, line) = start {
        let moved = std::fs::metadata(&path).map_or(true, |m| FileIdentity::of(&m) != identity);
        if moved {
            if let Some(mut file) = rotated(&path, identity, offset) {
                let opened = Input::Opened {
                    follower,
                    identity,
                    offset,
                    line,
                };
                if tx.send(opened).is_err()
                    || drain(&mut file, &mut buffer, follower, &tx).is_err()
                    || tx.send(Input::Ended { follower }).is_err()
                {
                    return;
                }
            }
        }
    }
    let mut start = Some(start);
    let mut warned_missing = false;
    while !stop.load(Ordering::Relaxed) {
        let Some((mut file, identity, mut offset, line)) = open(&path, start.take()) else {
            if !warned_missing {
                let message = format!("{} does not exist (yet); waiting for it", path.display());
                if tx.send(Input::Problem { message }).is_err() {
                    return;
                }
                warned_missing = true;
            }
            std::thread::sleep(poll);
            start = Some(Start::Beginning);
            continue;
        };
        warned_missing = false;
        if tx
            .send(Input::Opened {
                follower,
                identity,
                offset,
                line,
            })
            .is_err()
        {
            return;
        }
        // Read this file until the path names another one, or it shrinks.
        loop {
            match file.read(&mut buffer) {
                Ok(0) => {}
                Ok(n) => {
                    offset += n as u64;
                    let bytes = buffer[..n].to_vec();
                    if tx.send(Input::Data { follower, bytes }).is_err() {
                        return;
                    }
                    continue;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let message = format!("cannot read {}: {e}", path.display());
                    let _ = tx.send(Input::Problem { message });
                    break;
                }
            }
            // At the end of what is written: has the file been replaced or truncated?
            match std::fs::metadata(&path) {
                Ok(now) if FileIdentity::of(&now) != identity => {
                    // Rotated: what was written to the old file before the rename is read first.
                    if drain(&mut file, &mut buffer, follower, &tx).is_err() {
                        return;
                    }
                    break;
                }
                Ok(now) if now.len() < offset => break,
                Ok(_) => {}
                Err(_) => {
                    if drain(&mut file, &mut buffer, follower, &tx).is_err() {
                        return;
                    }
                    break;
                }
            }
            if stop.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(poll);
        }
        if tx.send(Input::Ended { follower }).is_err() {
            return;
        }
        start = Some(Start::Beginning);
    }
}

/// Reads what is left of a file.
fn drain(
    file: &mut File,
    buffer: &mut [u8],
    follower: usize,
    tx: &SyncSender<Input>,
) -> Result<(), ()> {
    loop {
        match file.read(buffer) {
            Ok(0) | Err(_) => return Ok(()),
            Ok(n) => {
                let bytes = buffer[..n].to_vec();
                tx.send(Input::Data { follower, bytes }).map_err(|_| ())?;
            }
        }
    }
}

/// Opens the file `path` names, at the place `start` says: (file, identity, offset, line).
fn open(path: &Path, start: Option<Start>) -> Option<(File, FileIdentity, u64, u64)> {
    let mut file = File::open(path).ok()?;
    let metadata = file.metadata().ok()?;
    let identity = FileIdentity::of(&metadata);
    let (offset, line) = match start.unwrap_or(Start::Beginning) {
        Start::Beginning => (0, 1),
        Start::End => {
            // The line number where reading starts: the lines before it, counted.
            let lines = count_lines(&mut file).ok()?;
            (metadata.len(), lines + 1)
        }
        Start::At(saved, offset, line) if saved == identity && offset <= metadata.len() => {
            (offset, line)
        }
        Start::At(..) => (0, 1),
    };
    file.seek(SeekFrom::Start(offset)).ok()?;
    Some((file, identity, offset, line))
}

/// Newlines in a file, read from its start.
fn count_lines(file: &mut File) -> std::io::Result<u64> {
    let mut buffer = vec![0u8; CHUNK];
    let mut lines = 0;
    loop {
        match file.read(&mut buffer) {
            Ok(0) => return Ok(lines),
            Ok(n) => lines += memchr::memchr_iter(b'\n', &buffer[..n]).count() as u64,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The file `identity` beside `path` (renamed by a rotation), opened at `offset`.
fn rotated(path: &Path, identity: FileIdentity, offset: u64) -> Option<File> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let Ok(metadata) = entry.metadata() else {
            continue;
        };
        if metadata.is_file() && FileIdentity::of(&metadata) == identity {
            let mut file = File::open(entry.path()).ok()?;
            file.seek(SeekFrom::Start(offset)).ok()?;
            return Some(file);
        }
    }
    None
}

/// Reads stdin until it closes.
pub fn stdin(follower: usize, tx: SyncSender<Input>) {
    let mut input = std::io::stdin().lock();
    let mut buffer = vec![0u8; CHUNK];
    let _ = tx.send(Input::Opened {
        follower,
        identity: FileIdentity { dev: 0, ino: 0 },
        offset: 0,
        line: 1,
    });
    loop {
        match input.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                if tx
                    .send(Input::Data {
                        follower,
                        bytes: buffer[..n].to_vec(),
                    })
                    .is_err()
                {
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let message = format!("cannot read stdin: {e}");
                let _ = tx.send(Input::Problem { message });
                break;
            }
        }
    }
    let _ = tx.send(Input::Ended { follower });
}
