"""auditlens.Baseline against `auditlens baseline build|merge` and `analyze --baseline`."""

import pickle

import auditlens
from conftest import run_cli
from test_analyze import as_jsonl


def test_build_writes_the_cli_baseline_file(cli, demo_parts, tmp_path):
    out = tmp_path / "b.json"
    run_cli(cli, "baseline", "build", *demo_parts[:2], "-o", out)
    built = auditlens.Baseline.build([str(p) for p in demo_parts[:2]])
    assert built.to_json() + "\n" == out.read_text()
    assert built.identities > 10 and built.requests > 500


def test_scoring_with_a_cli_or_a_python_baseline_equals_the_cli(cli, demo_parts, tmp_path):
    out = tmp_path / "b.json"
    run_cli(cli, "baseline", "build", *demo_parts[:2], "-o", out)
    expected = run_cli(cli, "analyze", "--baseline", out, "--format", "jsonl", demo_parts[2])
    from_cli = auditlens.Baseline.load(out)
    from_python = auditlens.Baseline.build(demo_parts[:2])
    with_cli = auditlens.analyze([str(demo_parts[2])], baseline=from_cli).findings
    with_python = auditlens.analyze([str(demo_parts[2])], baseline=from_python).findings
    assert as_jsonl(with_cli) == expected
    assert as_jsonl(with_python) == expected
    # The baseline is used: without it the same file scores differently.
    alone = auditlens.analyze([str(demo_parts[2])]).findings
    assert as_jsonl(alone) != expected


def test_merge_is_associative_and_equals_cli_merge(cli, demo_parts, tmp_path):
    a, b, c = (auditlens.Baseline.build([p]) for p in demo_parts)
    left = a.merge(b).merge(c)
    right = a.merge(b.merge(c))
    assert left == right
    assert a.merge(b) == b.merge(a)  # so Spark's treeReduce may combine in any order
    shards = []
    for i, part in enumerate(demo_parts):
        shard = tmp_path / f"shard{i}.json"
        run_cli(cli, "baseline", "build", part, "-o", shard)
        shards.append(shard)
    merged = tmp_path / "merged.json"
    run_cli(cli, "baseline", "merge", *shards, "-o", merged)
    assert left.to_json() + "\n" == merged.read_text()
    assert left.requests == a.requests + b.requests + c.requests
    # merge leaves its operands as they were
    assert a == auditlens.Baseline.build([demo_parts[0]])


def test_json_and_pickle_round_trips_keep_the_baseline(demo_parts):
    built = auditlens.Baseline.build(demo_parts[:1])
    assert auditlens.Baseline.from_json(built.to_json()) == built
    assert pickle.loads(pickle.dumps(built)) == built
    assert auditlens.Baseline() != built
    assert auditlens.Baseline().identities == 0
