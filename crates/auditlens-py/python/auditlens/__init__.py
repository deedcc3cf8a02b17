"""Kubernetes API server audit logs, analysed by the auditlens core from Python.

    import auditlens
    report = auditlens.analyze(["audit.log.gz"])
    report.findings          # list of dicts: the fields of `auditlens analyze --format json`
    baseline = auditlens.Baseline.build(["monday.log", "tuesday.log"])
    auditlens.analyze(["wednesday.log"], baseline=baseline).findings_arrow()

A source is a path (str or os.PathLike), bytes, or a binary file-like object with a read(n)
method. Each is read 256 KiB at a time and pushed into the core, which recognises gzip from the
bytes themselves; nothing is read whole. The native module releases the interpreter lock while
the core works on a chunk.

The analysis itself lives in the Rust core (crates/auditlens-core); this package only reads
bytes and converts the core's JSON report into Python objects. `auditlens.spark` runs it over
a fleet's logs on Apache Spark.
"""

from __future__ import annotations

import json
import os
from typing import IO, Iterable, Optional, Union

from . import _native

__all__ = ["analyze", "Baseline", "Report", "Source", "read_source"]

Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes]]

#: Bytes read and pushed at a time (the CLI's chunk size).
CHUNK_BYTES: int = _native.CHUNK_BYTES


class Report:
    """The result of `analyze`: what `auditlens analyze --format json` prints, as Python objects.

    `summary` is a dict, `findings`, `incidents` and `diagnostics` are lists of dicts whose keys
    and order are those of the JSON output.
    """

    def __init__(self, data: dict):
        self.summary: dict = data["summary"]
        self.findings: list = data["findings"]
        self.incidents: list = data["incidents"]
        self.diagnostics: list = data["diagnostics"]

    def __repr__(self) -> str:
        return (
            f"<auditlens.Report: {self.summary.get('requests', 0)} requests, "
            f"{len(self.findings)} findings, {len(self.diagnostics)} diagnostics>"
        )

    def findings_arrow(self):
        """The findings as a `pyarrow.Table`, one row per finding, one column per field."""
        try:
            import pyarrow
        except ImportError as error:
            raise ImportError(
                "Report.findings_arrow() needs pyarrow: pip install pyarrow "
                "(or pip install 'auditlens[arrow]')"
            ) from error
        return pyarrow.Table.from_pylist(self.findings)


class Baseline:
    """What is normal for every identity, learned from logs.

    The file format is the one of `auditlens baseline build`: a baseline built here loads in the
    CLI and the page, and the other way round. Baselines merge associatively, so shards learned
    apart (per file, per day, per cluster) can be merged in any grouping.
    """

    def __init__(self, native: Optional[_native.Baseline] = None):
        self._native = native if native is not None else _native.Baseline()

    @classmethod
    def build(cls, sources: Iterable[Source], config: Optional[str] = None) -> "Baseline":
        """Learns a baseline from `sources`, as `auditlens baseline build SOURCES...` does."""
        session = _read(sources, baseline=None, config=config)
        return cls(session.baseline())

    @classmethod
    def from_json(cls, text: Union[str, bytes], name: str = "baseline") -> "Baseline":
        """Reads a baseline file's text. A ValueError names `name` and says what is wrong."""
        if isinstance(text, (bytes, bytearray)):
            text = bytes(text).decode("utf-8")
        return cls(_native.Baseline.from_json(text, name))

    @classmethod
    def load(cls, path: Union[str, "os.PathLike[str]"]) -> "Baseline":
        """Reads a baseline file; errors name the file."""
        with open(path, "r", encoding="utf-8") as f:
            text = f.read()
        return cls.from_json(text, name=f"baseline {os.fspath(path)}")

    def to_json(self) -> str:
        """The baseline file's text (what `auditlens baseline build` writes, less its newline)."""
        return self._native.to_json()

    def merge(self, other: "Baseline") -> "Baseline":
        """A new baseline holding both, as `auditlens baseline merge SELF OTHER` writes."""
        return Baseline(self._native.merge(other._native))

    @property
    def identities(self) -> int:
        return self._native.identities

    @property
    def requests(self) -> int:
        return self._native.requests

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Baseline):
            return NotImplemented
        return self.to_json() == other.to_json()

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self):
        # Pickled as its file text, so that Spark can ship baselines between workers.
        return (Baseline.from_json, (self.to_json(),))

    def __repr__(self) -> str:
        return f"<auditlens.Baseline: {self.identities} identities, {self.requests} requests>"


def analyze(
    sources: Union[Source, Iterable[Source]],
    baseline: Optional[Baseline] = None,
    config: Optional[Union[str, "os.PathLike[str]"]] = None,
) -> Report:
    """Analyses `sources` as `auditlens analyze --format json` would, and returns the report.

    `baseline` scores against earlier logs (`--baseline`); `config` is a rules configuration,
    its TOML (or JSON) text or the path of a file holding it (`--config`). A source that cannot
    be read raises OSError naming it; bad lines inside a source are diagnostics, not errors.
    """
    session = _read(_as_list(sources), baseline=baseline, config=config)
    return Report(json.loads(session.report_json()))


def _as_list(sources) -> list:
    if isinstance(sources, (str, bytes, bytearray, memoryview, os.PathLike)) or hasattr(
        sources, "read"
    ):
        return [sources]
    return list(sources)


def _config_text(config) -> tuple:
    """The text of a rules configuration and the name to use in its errors."""
    if isinstance(config, os.PathLike) or (
        isinstance(config, str) and "\n" not in config and os.path.isfile(config)
    ):
        path = os.fspath(config)
        try:
            with open(path, "r", encoding="utf-8") as f:
                return f.read(), f"rule configuration {path}"
        except OSError as error:
            raise OSError(
                error.errno, f"cannot read rule configuration {path}: {error.strerror}", path
            ) from error
    return config, "rule configuration"


def _read(sources, baseline: Optional[Baseline], config) -> _native.Session:
    text, name = _config_text(config) if config is not None else (None, "rule configuration")
    session = _native.Session(text, name, baseline._native if baseline is not None else None)
    for index, source in enumerate(_as_list(sources)):
        read_source(session, source, _name_of(source, index))
    session.finish()
    return session


def _name_of(source, index: int) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<bytes {index + 1}>"
    name = getattr(source, "name", None)
    return name if isinstance(name, str) else f"<stream {index + 1}>"


def read_source(session: _native.Session, source: Source, name: str) -> int:
    """Adds `source` to `session` as a file named `name` and pushes its bytes chunk by chunk.

    Returns the file's number in the session. An unreadable path raises OSError with its name.
    """
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        try:
            stream = open(path, "rb")
        except OSError as error:
            raise type(error)(error.errno, f"cannot read {path}: {error.strerror}", path) from None
        with stream:
            file = session.add_file(name)
            try:
                session.set_file_size(file, os.fstat(stream.fileno()).st_size)
            except OSError:
                pass
            _push_stream(session, file, stream, name)
        return file
    file = session.add_file(name)
    if isinstance(source, (bytes, bytearray, memoryview)):
        view = memoryview(source).cast("B")
        session.set_file_size(file, len(view))
        for start in range(0, len(view), CHUNK_BYTES):
            session.push(file, bytes(view[start : start + CHUNK_BYTES]))
        session.finish_file(file)
        return file
    if not hasattr(source, "read"):
        raise TypeError(
            f"a source is a path, bytes or a binary file-like object, not {type(source).__name__}"
        )
    _push_stream(session, file, source, name)
    return file


def _push_stream(session: _native.Session, file: int, stream, name: str) -> None:
    while True:
        try:
            chunk = stream.read(CHUNK_BYTES)
        except OSError as error:
            session.read_failed(file, str(error))
            raise OSError(error.errno, f"cannot read {name}: {error.strerror or error}", name)
        if not chunk:
            break
        if isinstance(chunk, str):
            raise TypeError(f"{name}: the stream gives text; open it in binary mode ('rb')")
        session.push(file, bytes(chunk))
    session.finish_file(file)
