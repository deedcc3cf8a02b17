"""The interpreter lock is released while the core works on a chunk: another Python thread
runs meanwhile."""

import gzip
import threading
import time

from auditlens import _native


def spin(seconds: float) -> int:
    """How many loop turns this thread makes in `seconds` when it runs alone."""
    count, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        count += 1
    return count


def test_other_threads_run_while_a_chunk_is_read(demo):
    chunk = gzip.decompress(demo.read_bytes()) * 30  # ~96 MB in one push
    session = _native.Session()
    file = session.add_file("big.log")
    in_push = threading.Event()
    took = []

    def read():
        in_push.set()
        start = time.perf_counter()
        session.push(file, chunk)
        took.append(time.perf_counter() - start)

    baseline_turns = spin(0.05)
    worker = threading.Thread(target=read)
    worker.start()
    in_push.wait()
    turns = 0
    while worker.is_alive():
        turns += 1
    worker.join()
    assert took[0] > 0.1, "the chunk was read too fast to tell"
    # Holding the lock through the push would leave this thread a switch interval (5 ms) at
    # most; released, it runs for most of the push.
    assert turns > baseline_turns, (turns, baseline_turns, took[0])
