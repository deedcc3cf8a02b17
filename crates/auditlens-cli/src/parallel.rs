//! Reading one large plain file on several threads.
//!
//! The file is cut into parts at line boundaries; each part is read into its own
//! [`auditlens_core::Shard`] on its own thread, and the parts are appended to the analysis in
//! file order (the core makes the result the same as one pass). Should a part be refused (the
//! file is not plain JSON lines of audit events after all), that part and the rest of the file
//! are read in one pass instead.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use auditlens_core::{Analysis, FileId};

use crate::input::{read_chunks, Progress, CHUNK};

/// Parts smaller than this are not worth a thread.
const MIN_PART: u64 = 16 * 1024 * 1024;

/// Where to cut a file of `size` bytes into at most `threads` parts: part starts, the first 0.
pub fn cuts(path: &Path, size: u64, threads: usize) -> std::io::Result<Vec<u64>> {
    let parts = (size / MIN_PART).clamp(1, threads.max(1) as u64);
    let mut starts = vec![0];
    let mut file = File::open(path)?;
    let mut buffer = vec![0u8; 64 * 1024];
    for k in 1..parts {
        let mut at = size * k / parts;
        if at <= *starts.last().unwrap_or(&0) {
            continue;
        }
        file.seek(SeekFrom::Start(at))?;
        // The next part starts after the next newline.
        let start = loop {
            let read = file.read(&mut buffer)?;
            if read == 0 {
                break None;
            }
            if let Some(i) = memchr::memchr(b'\n', &buffer[..read]) {
                break Some(at + i as u64 + 1);
            }
            at += read as u64;
        };
        match start {
            Some(start) if start < size => starts.push(start),
            _ => break,
        }
    }
    Ok(starts)
}

/// True when the file starts like plain text (not gzip, which cannot be cut).
pub fn is_plain(path: &Path) -> std::io::Result<bool> {
    let mut head = [0u8; 2];
    let read = File::open(path)?.read(&mut head)?;
    Ok(!(read == 2 && head == [0x1f, 0x8b]))
}

/// Reads the whole file into `analysis` in parts starting at `starts` (from [`cuts`]).
pub fn load(
    path: &Path,
    size: u64,
    starts: &[u64],
    analysis: &mut Analysis,
    file: FileId,
    progress: &mut Progress,
) -> std::io::Result<()> {
    let ends: Vec<u64> = starts.iter().skip(1).copied().chain([size]).collect();
    let done = AtomicU64::new(0);
    let shards = std::thread::scope(|scope| {
        let handles: Vec<_> = starts
            .iter()
            .zip(&ends)
            .map(|(&start, &end)| {
                let mut shard = analysis.shard(file, start);
                let done = &done;
                scope.spawn(move || -> std::io::Result<_> {
                    read_range(path, start, end, &mut |chunk| {
                        shard.push(chunk);
                        done.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    })?;
                    if end == size {
                        shard.finish();
                    }
                    Ok(shard)
                })
            })
            .collect();
        while !handles.iter().all(|h| h.is_finished()) {
            progress.set(done.load(Ordering::Relaxed));
            std::thread::sleep(Duration::from_millis(100));
        }
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(std::io::Error::other("a reader thread failed")))
            })
            .collect::<Vec<_>>()
    });
    for (index, shard) in shards.into_iter().enumerate() {
        if analysis.append_shard(shard?).is_err() {
            // Not plain JSON lines after all: read this part and the rest in one pass.
            let from = starts[index];
            read_range(path, from, size, &mut |chunk| analysis.push(file, chunk))?;
            break;
        }
    }
    progress.set(done.load(Ordering::Relaxed));
    Ok(())
}

fn read_range(
    path: &Path,
    start: u64,
    end: u64,
    push: &mut dyn FnMut(&[u8]),
) -> std::io::Result<()> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(start))?;
    let mut reader = file.take(end - start);
    read_chunks(&mut reader, &mut vec![0u8; CHUNK], push)
}
