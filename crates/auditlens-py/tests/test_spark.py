"""`python -m auditlens.spark` on a real local Spark session against the single-machine path.

For each cluster, the CLI learns a baseline from that cluster's learn files (`baseline build`
per file, then `baseline merge`: the split the job makes) and scores each scored file alone
(`analyze --baseline B --format jsonl F`). The job's Parquet must hold exactly those findings,
each with its cluster and day.
"""

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_cli

pyspark = pytest.importorskip("pyspark")


@pytest.fixture(scope="module")
def spark():
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("auditlens tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    yield session
    session.stop()


def lay_out(root: Path, demo_parts, layout: dict) -> dict:
    """Copies demo parts into ROOT/{learn,score}/CLUSTER/; `layout` maps (role, cluster) to the
    part numbers, a negative number meaning that part gzip-compressed. Returns the paths."""
    placed = {}
    for (role, cluster), numbers in layout.items():
        folder = root / role / cluster
        folder.mkdir(parents=True)
        paths = []
        for n in numbers:
            source = demo_parts[abs(n)]
            if n < 0:
                path = folder / f"{source.stem}.log.gz"
                path.write_bytes(gzip.compress(source.read_bytes()))
            else:
                path = folder / source.name
                shutil.copy(source, path)
            paths.append(path)
        placed[(role, cluster)] = paths
    return placed


def cli_findings(cli, placed: dict, work: Path) -> list:
    """What the CLI finds, cluster by cluster, with cluster and day added."""
    expected = []
    clusters = sorted({cluster for _, cluster in placed})
    for cluster in clusters:
        learn = placed.get(("learn", cluster), [])
        shards = []
        for i, path in enumerate(learn):
            shard = work / f"{cluster}-shard{i}.json"
            run_cli(cli, "baseline", "build", path, "-o", shard)
            shards.append(shard)
        baseline = []
        if len(shards) == 1:
            # One learn file: exactly `auditlens baseline build LEARN -o b.json`.
            baseline = ["--baseline", shards[0]]
        elif shards:
            merged = work / f"{cluster}.json"
            run_cli(cli, "baseline", "merge", *shards, "-o", merged)
            baseline = ["--baseline", merged]
        for path in placed.get(("score", cluster), []):
            out = run_cli(cli, "analyze", *baseline, "--format", "jsonl", path)
            for line in out.decode().splitlines():
                finding = json.loads(line)
                finding["cluster"] = cluster
                finding["day"] = finding["timestamp"][:10]
                expected.append(finding)
    return expected


def parquet_findings(spark, folder: Path) -> list:
    rows = spark.read.parquet(str(folder)).collect()
    return [row.asDict(recursive=True) for row in rows]


def normalized(findings: list) -> list:
    """Findings without absent optional fields (null in Parquet, left out in JSON), sorted; the
    day as text (Spark reads the partition folder `day=2024-05-06` back as a date)."""
    kept = [{k: v for k, v in f.items() if v is not None} | {"day": str(f["day"])} for f in findings]
    return sorted(kept, key=lambda f: (f["cluster"], f["file"], f["line"], f["auditID"] or ""))


def test_the_command_on_local_2_equals_the_cli_finding_for_finding(spark, cli, demo_parts, tmp_path):
    placed = lay_out(
        tmp_path,
        demo_parts,
        {("learn", "alpha"): [0, 1], ("score", "alpha"): [2, -1]},
    )
    out = tmp_path / "out"
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    done = subprocess.run(
        [
            sys.executable, "-m", "auditlens.spark",
            "--learn", str(tmp_path / "learn"),
            "--score", str(tmp_path / "score" / "*" / "*.log*"),
            "--out", str(out),
            "--master", "local[2]",
        ],
        capture_output=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    expected = cli_findings(cli, placed, tmp_path)
    assert len(expected) > 100

    # The command ran its own session in another process; this one only reads what it wrote.
    got = parquet_findings(spark, out / "findings")
    assert normalized(got) == normalized(expected)
    assert {(f["cluster"], str(f["day"])) for f in got} == {("alpha", f["day"]) for f in expected}
    assert sorted(p.name for p in (out / "findings").iterdir() if p.is_dir()) == ["cluster=alpha"]
    merged = (tmp_path / "alpha.json").read_text()
    assert (out / "baselines" / "alpha.json").read_text() == merged
    assert "findings in" in done.stderr.decode()


@pytest.mark.parametrize("reader", ["spark", "stream"])
def test_clusters_learn_and_score_apart(spark, cli, demo_parts, tmp_path, reader):
    from auditlens.spark import run

    # beta learns from part 2 only and scores part 0: were alpha's parts in its baseline, or
    # beta's in alpha's, the findings would differ from the CLI's per-cluster ones.
    placed = lay_out(
        tmp_path,
        demo_parts,
        {
            ("learn", "alpha"): [0, 1],
            ("score", "alpha"): [2],
            ("learn", "beta"): [2],
            ("score", "beta"): [-0, 1],
            ("score", "gamma"): [1],
        },
    )
    out = tmp_path / "out"
    done = run(spark, [str(tmp_path / "learn")], [str(tmp_path / "score")], str(out), reader=reader)
    assert (done["learned"], done["scored"], done["clusters"]) == (3, 4, ["alpha", "beta"])
    expected = cli_findings(cli, placed, tmp_path)
    got = parquet_findings(spark, out / "findings")
    assert done["findings"] == len(got) == len(expected)
    assert normalized(got) == normalized(expected)
    by_cluster = {c: [f for f in got if f["cluster"] == c] for c in ("alpha", "beta", "gamma")}
    assert all(by_cluster.values())
    # The same file scored in gamma (no baseline) and in beta (a baseline) gives other findings.
    part1 = lambda c: [(f["line"], f["score"]) for f in by_cluster[c] if f["file"].endswith("part1.log")]
    assert part1("gamma") != part1("beta")


def test_a_missing_path_is_an_error_naming_it(spark, tmp_path):
    from auditlens.spark import run

    missing = tmp_path / "no-such-folder"
    with pytest.raises(FileNotFoundError, match="no-such-folder"):
        run(spark, [], [str(missing)], str(tmp_path / "out"))


def test_the_cluster_is_the_records_context_then_the_folder_then_the_pattern():
    from auditlens.spark import cluster_of

    eks = {"context": {"cluster": ["prod-eu"], "log group": ["/aws/eks/prod-eu/cluster"]}}
    assert cluster_of(eks, "s3a://logs/x/y.gz") == "prod-eu"
    assert cluster_of({}, "s3a://logs/staging/2024-05-06.log.gz") == "staging"
    assert cluster_of({}, "/data/clusters/c7/2024/05/06/a.log", r"clusters/([^/]+)/") == "c7"
    assert cluster_of({}, "/data/clusters/c7/2024/05/06/a.log", r"nomatch/([^/]+)/") == "06"
    assert cluster_of({}, "a.log") == ""
