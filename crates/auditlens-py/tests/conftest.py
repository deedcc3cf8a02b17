"""Shared fixtures: the CLI binary to compare with, the demo log, and the demo log cut into parts.

The CLI is the reference: every test runs the real `auditlens` binary (built by
scripts/test-python.sh, or named by AUDITLENS_BIN) and compares the package's output with it.
"""

import gzip
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "tests" / "fixtures" / "demo" / "demo-audit.log.gz"


@pytest.fixture(scope="session")
def cli() -> Path:
    path = Path(os.environ.get("AUDITLENS_BIN", ROOT / "target" / "release" / "auditlens"))
    if not path.is_file():
        pytest.fail(f"{path} is missing: run cargo build --release -p auditlens-cli first")
    return path


def run_cli(cli: Path, *args, cwd=None) -> bytes:
    """Runs the CLI and returns its standard output; fails the test on a non-zero status."""
    done = subprocess.run([str(cli), *map(str, args)], capture_output=True, cwd=cwd)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


@pytest.fixture(scope="session")
def demo() -> Path:
    return DEMO


@pytest.fixture(scope="session")
def demo_parts(tmp_path_factory) -> list:
    """The demo log cut into three plain files of consecutive lines (three stretches of time)."""
    lines = gzip.decompress(DEMO.read_bytes()).splitlines(keepends=True)
    folder = tmp_path_factory.mktemp("parts")
    third = len(lines) // 3
    cuts = [0, third, 2 * third, len(lines)]
    paths = []
    for i in range(3):
        path = folder / f"part{i}.log"
        path.write_bytes(b"".join(lines[cuts[i] : cuts[i + 1]]))
        paths.append(path)
    return paths
