//! Reading one large plain file on several threads.
//!
//! The file is cut into parts at line boundaries, several per thread and smaller towards the
//! end of the file; worker threads read each part into its own [`auditlens_core::Shard`], and
//! the parts are appended to the analysis in file order as they finish (the core makes the
//! result the same as one pass). Should a part be refused (the file is not plain JSON lines of
//! audit events after all), that part and the rest of the file are read in one pass instead.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Mutex;
use std::time::Duration;

use auditlens_core::{Analysis, FileId, Shard};

use crate::input::{read_chunks, Progress, CHUNK};

/// Parts smaller than this are not worth a thread.
const MIN_PART: u64 = 16 * 1024 * 1024;

/// Where to start each part of a file of `size` bytes read by `threads` workers, before the
/// starts are moved to line boundaries: the first is 0.
///
/// Parts shrink as the file is used up (each takes `1 / (2 * threads)` of what is left, at
/// least [`MIN_PART`]). Early parts are large, so that there are few appends; the last ones
/// are small, so that no worker is left reading a large part alone at the end while the
/// other cores wait, and the last append, which nothing overlaps, is short.
pub fn plan(size: u64, threads: usize) -> Vec<u64> {
    let share = 2 * threads.max(1) as u64;
    let mut starts = vec![0];
    let mut at = 0;
    loop {
        let left = size - at;
        let step = (left / share).max(MIN_PART);
        if threads < 2 || left < step + MIN_PART {
            return starts;
        }
        at += step;
        starts.push(at);
    }
}

/// Where to cut a file of `size` bytes for `threads` workers: part starts, the first 0, each
/// after a newline (see [`plan`]).
pub fn cuts(path: &Path, size: u64, threads: usize) -> std::io::Result<Vec<u64>> {
    let mut starts = vec![0];
    let mut file = File::open(path)?;
    let mut buffer = vec![0u8; 64 * 1024];
    for planned in plan(size, threads).into_iter().skip(1) {
        let mut at = planned;
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
///
/// `threads` workers take the parts in file order, each into a shard of its own, while this
/// thread appends the finished ones in file order. With several parts per worker, appending a
/// part overlaps with reading the later ones.
pub fn load(
    path: &Path,
    size: u64,
    starts: &[u64],
    threads: usize,
    analysis: &mut Analysis,
    file: FileId,
    progress: &mut Progress,
) -> std::io::Result<()> {
    let ends: Vec<u64> = starts.iter().skip(1).copied().chain([size]).collect();
    let queue: Mutex<VecDeque<(usize, Shard)>> = Mutex::new(
        starts
            .iter()
            .enumerate()
            .map(|(index, &start)| (index, analysis.shard(file, start)))
            .collect(),
    );
    let done = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let (sender, finished) = mpsc::channel::<(usize, std::io::Result<Shard>)>();
    let mut refused_from = None;
    let mut failure = None;
    std::thread::scope(|scope| {
        let mut workers = Vec::new();
        for _ in 0..threads.clamp(1, starts.len()) {
            let sender = sender.clone();
            let (queue, done, stop, ends) = (&queue, &done, &stop, &ends);
            workers.push(scope.spawn(move || loop {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let next = queue.lock().ok().and_then(|mut q| q.pop_front());
                let Some((index, mut shard)) = next else {
                    break;
                };
                let (start, end) = (starts[index], ends[index]);
                let read = read_range(path, start, end, &mut |chunk| {
                    shard.push(chunk);
                    done.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                });
                if end == size {
                    shard.finish();
                }
                if sender.send((index, read.map(|()| shard))).is_err() {
                    break;
                }
            }));
        }
        drop(sender);
        // Parts arrive in any order; they are appended in file order.
        let mut waiting = BTreeMap::new();
        let mut next = 0;
        loop {
            match finished.recv_timeout(Duration::from_millis(100)) {
                Ok((index, shard)) => {
                    waiting.insert(index, shard);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            progress.set(done.load(Ordering::Relaxed));
            while let Some(shard) = waiting.remove(&next) {
                let appended = match shard {
                    Ok(shard) => analysis.append_shard(shard).is_ok(),
                    Err(e) => {
                        failure = Some(e);
                        false
                    }
                };
                if !appended {
                    stop.store(true, Ordering::Relaxed);
                    refused_from = Some(next);
                    break;
                }
                next += 1;
            }
            if refused_from.is_some() {
                break;
            }
        }
        stop.store(true, Ordering::Relaxed);
        // A worker that failed (a bug, not bad input: the core does not panic on any input)
        // leaves its part unread; that is an error, not a shorter analysis.
        let crashed = workers.into_iter().any(|w| w.join().is_err());
        if failure.is_none() && (crashed || (refused_from.is_none() && next < starts.len())) {
            failure = Some(std::io::Error::other("a reader thread failed"));
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    if let Some(index) = refused_from {
        // Not plain JSON lines after all: read this part and the rest in one pass.
        read_range(path, starts[index], size, &mut |chunk| {
            analysis.push(file, chunk)
        })?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Part sizes of a plan.
    fn sizes(size: u64, threads: usize) -> Vec<u64> {
        let starts = plan(size, threads);
        let ends = starts.iter().skip(1).copied().chain([size]);
        starts.iter().zip(ends).map(|(s, e)| e - s).collect()
    }

    #[test]
    fn parts_shrink_towards_the_end_of_the_file() {
        let gb = 1_000_000_000;
        let parts = sizes(gb, 2);
        assert_eq!(parts.iter().sum::<u64>(), gb);
        assert_eq!(parts[0], gb / 4);
        assert!(
            parts.windows(2).take(parts.len() - 2).all(|w| w[0] >= w[1]),
            "{parts:?}"
        );
        assert!(parts.iter().all(|&p| p >= MIN_PART), "{parts:?}");
        // The last part is small: reading it alone at the end takes a fraction of the file.
        let last = *parts.last().unwrap_or(&0);
        assert!(last < 2 * MIN_PART, "{parts:?}");
        assert!((8..=16).contains(&parts.len()), "{parts:?}");
        // More threads, smaller shares.
        let four = sizes(gb, 4);
        assert_eq!(four[0], gb / 8);
        assert!(four.len() > parts.len());
    }

    #[test]
    fn small_files_and_one_thread_are_one_part() {
        assert_eq!(plan(1_000_000_000, 1), vec![0]);
        assert_eq!(plan(2 * MIN_PART - 1, 2), vec![0]);
        assert_eq!(plan(0, 2), vec![0]);
        assert_eq!(sizes(2 * MIN_PART, 2), vec![MIN_PART, MIN_PART]);
        // What is left after a part is never smaller than a part.
        assert_eq!(sizes(3 * MIN_PART - 1, 2), vec![MIN_PART, 2 * MIN_PART - 1]);
    }
}
