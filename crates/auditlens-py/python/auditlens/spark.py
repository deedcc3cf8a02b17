"""Fleet analysis on Apache Spark: learn a baseline per cluster, score every file, write Parquet.

    python -m auditlens.spark --learn PATH... --score PATH... --out DIR [--master local[2]]

    learn files ──map: one file, one task──▶ (cluster, baseline shard)
                ──treeReduce: merge shards by cluster, in a tree──▶ {cluster: baseline}
                ──broadcast──▶ score files ──map: one file, one partition, one analysis──▶
                findings + cluster + day ──▶ DIR/findings/cluster=C/day=D/*.parquet
                                            DIR/baselines/C.json

Each file is analysed by the auditlens core on its own (one `Analysis`, as
`auditlens analyze --baseline B FILE` would), so a scored file's findings are those of the CLI
given the same baseline. A learned shard is exactly `auditlens baseline build FILE`, and the
reduce is `auditlens baseline merge`: merging is associative (and commutative), so the tree's
shape does not change the result.

The cluster of a file is what its records say (the provider context of EKS, GKE or AKS
wrappers: `cluster` in the file's summary), else the name of the folder that holds the file, or
the first group of `--cluster-pattern` when given. Baselines are learned and applied per
cluster, so `system:node:x` of two clusters never share a profile; findings keep the identity
as the CLI prints it and carry the cluster in their own column.

Paths are files, folders (read recursively) or globs on any filesystem Spark reads (file:,
hdfs:, s3a:, gs:, abfss:), listed on the driver through Hadoop's filesystem API. By default
(`--read spark`) Spark's `binaryFiles` hands each file to its task as one bytes object, which
the task then pushes into the core 256 KiB at a time: a task holds one whole (compressed) file,
so keep files to a few hundred MB. With `--read stream` each task opens its own file and reads
it in chunks (local or mounted paths, and the URIs pyarrow's filesystems know), never whole
(docs/scale.md compares the two).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from typing import Dict, Iterable, List, Optional, Tuple

from . import _native, read_source

#: The columns of `auditlens analyze --format jsonl`, in order, then the two added here.
FINDING_FIELDS = [
    ("auditID", "string"),
    ("request", "string"),
    ("timestamp", "string"),
    ("identity", "string"),
    ("verb", "string"),
    ("resource", "string"),
    ("namespace", "string"),
    ("name", "string"),
    ("severity", "string"),
    ("score", "int"),
    ("reasons", "array<struct<code:string,message:string>>"),
    ("rules", "array<string>"),
    ("file", "string"),
    ("line", "bigint"),
    ("actor", "string"),
    ("class", "string"),
    ("incident", "int"),
    ("cluster", "string"),
    ("day", "string"),
]
SCHEMA = ", ".join(f"`{name}` {kind}" for name, kind in FINDING_FIELDS)


def cluster_of(file_summary: dict, name: str, pattern: Optional[str] = None) -> str:
    """The cluster a file belongs to: its records' provider context, else its path."""
    named = file_summary.get("context", {}).get("cluster") or []
    if named:
        return named[0]
    if pattern:
        match = re.search(pattern, name)
        if match and match.groups():
            return match.group(1)
    parts = [p for p in name.rstrip("/").split("/") if p]
    return parts[-2] if len(parts) >= 2 else ""


def open_stream(name: str):
    """Opens a file for reading in chunks, inside a task: a local path directly, a URI through
    pyarrow's filesystems (`s3a://` and `s3n://` are read as `s3://`)."""
    if "://" not in name:
        return open(name, "rb")
    from pyarrow import fs

    uri = re.sub(r"^s3[an]://", "s3://", name)
    filesystem, path = fs.FileSystem.from_uri(uri)
    return filesystem.open_input_stream(path, compression=None)


def _read(name: str, data: Optional[bytes], config: Optional[str]) -> Tuple[_native.Session, dict]:
    """Reads one file into a new session: `data` as Spark handed it over, or, when `None`, the
    file opened here and streamed."""
    session = _native.Session(config, "rule configuration", None)
    if data is not None:
        read_source(session, data, name)
    else:
        with open_stream(name) as stream:
            read_source(session, stream, name)
    summary = json.loads(session.summary_json())
    return session, summary["files"][0]


def learn_shard(
    record: Tuple[str, bytes], config: Optional[str], pattern: Optional[str]
) -> Dict[str, str]:
    """One learn file into `{cluster: baseline file text}`."""
    name, data = record
    session, summary = _read(name, data, config)
    cluster = cluster_of(summary, name, pattern)
    session.finish()
    return {cluster: session.baseline().to_json()}


def merge_shards(left: Dict[str, str], right: Dict[str, str]) -> Dict[str, str]:
    """Merges two `{cluster: baseline}` maps cluster by cluster."""
    merged = dict(left)
    for cluster, text in right.items():
        if cluster in merged:
            mine = _native.Baseline.from_json(merged[cluster], f"baseline of {cluster}")
            theirs = _native.Baseline.from_json(text, f"baseline of {cluster}")
            merged[cluster] = mine.merge(theirs).to_json()
        else:
            merged[cluster] = text
    return merged


def score_file(
    record: Tuple[str, bytes],
    baselines: Dict[str, str],
    config: Optional[str],
    pattern: Optional[str],
) -> Iterable[str]:
    """One scored file's findings, as JSON lines with `cluster` and `day` added."""
    name, data = record
    session, summary = _read(name, data, config)
    cluster = cluster_of(summary, name, pattern)
    text = baselines.get(cluster)
    if text is not None:
        session.set_baseline(_native.Baseline.from_json(text, f"baseline of {cluster}"))
    session.finish()
    report = json.loads(session.report_json())
    for finding in report["findings"]:
        finding["cluster"] = cluster
        finding["day"] = finding["timestamp"][:10]
        yield json.dumps(finding, ensure_ascii=False)


def list_files(spark, patterns: List[str]) -> List[str]:
    """The files that paths, folders (recursively) and globs name, through Hadoop's filesystem
    API (so any scheme Spark is configured for), sorted; hidden files (`.x`, `_x`) skipped."""
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    found = set()
    for pattern in patterns:
        path = jvm.org.apache.hadoop.fs.Path(pattern)
        fs = path.getFileSystem(conf)
        statuses = fs.globStatus(path)
        if statuses is None or len(statuses) == 0:
            raise FileNotFoundError(f"cannot read {pattern}: no such file, folder or match")
        for status in statuses:
            if status.isDirectory():
                listing = fs.listFiles(status.getPath(), True)
                while listing.hasNext():
                    found.add(listing.next().getPath().toString())
            else:
                found.add(status.getPath().toString())
    return sorted(u for u in found if not u.rsplit("/", 1)[-1].startswith((".", "_")))


def display_name(uri: str) -> str:
    """The name findings carry: a local file's path, as given to the CLI; else the URI."""
    if uri.startswith("file:"):
        return re.sub(r"^file:(//)?", "", uri)
    return uri


def read_files(spark, uris: List[str], reader: str = "spark"):
    """An RDD of `(name, bytes)` (`reader="spark"`: Spark's `binaryFiles`, any Hadoop
    filesystem, a whole file per record) or `(name, None)` (`reader="stream"`: each task opens
    and streams its file itself): one record and one partition per file."""
    sc = spark.sparkContext
    if reader == "stream":
        names = [display_name(uri) for uri in uris]
        return sc.parallelize([(name, None) for name in names], max(1, len(names)))
    rdds = []
    for uri in uris:
        name = display_name(uri)
        rdds.append(sc.binaryFiles(uri, 1).map(lambda kv, name=name: (name, kv[1])))
    return sc.union(rdds) if rdds else sc.emptyRDD()


def run(
    spark,
    learn: List[str],
    score: List[str],
    out: str,
    config: Optional[str] = None,
    cluster_pattern: Optional[str] = None,
    reader: str = "spark",
) -> dict:
    """Learns, scores and writes; returns counts and the seconds each phase took."""
    started = time.monotonic()
    learn_files = list_files(spark, learn) if learn else []
    score_files = list_files(spark, score)
    baselines: Dict[str, str] = {}
    if learn_files:
        shards = read_files(spark, learn_files, reader).map(
            lambda r: learn_shard(r, config, cluster_pattern)
        )
        baselines = shards.treeReduce(merge_shards, depth=2)
    learned = time.monotonic()
    shared = spark.sparkContext.broadcast(baselines)
    lines = read_files(spark, score_files, reader).flatMap(
        lambda r: score_file(r, shared.value, config, cluster_pattern)
    )
    findings = spark.read.schema(SCHEMA).json(lines)
    target = out.rstrip("/") + "/findings"
    findings.write.mode("overwrite").partitionBy("cluster", "day").parquet(target)
    _write_baselines(spark, out.rstrip("/") + "/baselines", baselines)
    written = spark.read.schema(SCHEMA).parquet(target).count()
    return {
        "learned": len(learn_files),
        "scored": len(score_files),
        "clusters": sorted(baselines),
        "findings": written,
        "learn_seconds": round(learned - started, 1),
        "score_seconds": round(time.monotonic() - learned, 1),
    }


def _write_baselines(spark, folder: str, baselines: Dict[str, str]) -> None:
    """Each cluster's baseline as `FOLDER/CLUSTER.json`, the file `auditlens analyze --baseline`
    and the page read."""
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    for cluster, text in sorted(baselines.items()):
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", cluster) or "_"
        path = jvm.org.apache.hadoop.fs.Path(f"{folder}/{safe}.json")
        stream = path.getFileSystem(conf).create(path, True)
        try:
            stream.write(bytearray((text + "\n").encode("utf-8")))
        finally:
            stream.close()


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m auditlens.spark",
        description="Learn baselines per cluster from --learn files, score the --score files "
        "against them, write DIR/findings/ as Parquet partitioned by cluster and day.",
    )
    parser.add_argument("--learn", nargs="*", default=[], metavar="PATH")
    parser.add_argument("--score", nargs="+", required=True, metavar="PATH")
    parser.add_argument("--out", required=True, metavar="DIR")
    parser.add_argument("--master", help="Spark master, e.g. local[2] (default: Spark's own)")
    parser.add_argument("--config", metavar="FILE", help="rules configuration (TOML or JSON)")
    parser.add_argument(
        "--cluster-pattern",
        metavar="REGEX",
        help="for files whose records name no cluster: a regular expression whose first group, "
        "searched in the path, names it (default: the folder that holds the file)",
    )
    parser.add_argument(
        "--read",
        choices=["spark", "stream"],
        default="spark",
        help="spark: Spark's binaryFiles, any filesystem Spark is configured for, a whole file in "
        "memory per task; stream: each task opens its file and reads it in chunks (local paths, "
        "and the URIs pyarrow's filesystems know: s3, gs, hdfs)",
    )
    args = parser.parse_args(argv)
    config = None
    if args.config:
        with open(args.config, "r", encoding="utf-8") as f:
            config = f.read()
        _native.Session(config, f"rule configuration {args.config}", None)  # fail early

    # Local workers run this interpreter, the one with auditlens installed.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    started = time.monotonic()
    builder = SparkSession.builder.appName("auditlens fleet")
    if args.master:
        builder = builder.master(args.master)
    spark = builder.getOrCreate()
    start_seconds = time.monotonic() - started
    try:
        done = run(
            spark, args.learn, args.score, args.out, config, args.cluster_pattern, args.read
        )
    finally:
        spark.stop()
    print(
        f"auditlens.spark: learned {done['learned']} files into baselines of "
        f"{len(done['clusters'])} clusters, scored {done['scored']} files, "
        f"{done['findings']} findings in {args.out.rstrip('/')}/findings (seconds: Spark start "
        f"{start_seconds:.1f}, learn {done['learn_seconds']}, score and write "
        f"{done['score_seconds']})",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
