"""auditlens.analyze against the CLI: same findings, same report, whatever the source kind."""

import io
import json
import sys

import pytest

import auditlens
from conftest import run_cli


def as_jsonl(findings) -> bytes:
    """The findings serialized the way `analyze --format jsonl` prints them."""
    return "".join(
        json.dumps(f, ensure_ascii=False, separators=(",", ":")) + "\n" for f in findings
    ).encode()


def test_demo_findings_equal_cli_jsonl_byte_for_byte(cli, demo):
    expected = run_cli(cli, "analyze", "--format", "jsonl", demo)
    report = auditlens.analyze([str(demo)])
    assert len(report.findings) > 50
    assert as_jsonl(report.findings) == expected


def test_demo_report_equals_cli_json_byte_for_byte(cli, demo):
    expected = run_cli(cli, "analyze", "--format", "json", demo)
    report = auditlens.analyze(demo)
    whole = {
        "summary": report.summary,
        "findings": report.findings,
        "incidents": report.incidents,
        "diagnostics": report.diagnostics,
    }
    assert (json.dumps(whole, indent=2, ensure_ascii=False) + "\n").encode() == expected
    assert report.summary["requests"] > 1000


def test_bytes_and_file_like_sources_give_the_findings_of_the_path(demo):
    by_path = auditlens.analyze([str(demo)]).findings
    data = demo.read_bytes()
    by_bytes = auditlens.analyze([data]).findings
    with open(demo, "rb") as stream:
        by_stream = auditlens.analyze([stream]).findings
    assert by_stream == by_path  # an open file is named by its path
    assert [f["file"] for f in by_bytes] == ["<bytes 1>"] * len(by_path)
    assert [dict(f, file="") for f in by_bytes] == [dict(f, file="") for f in by_path]


class Dribble(io.RawIOBase):
    """A stream that gives at most 7 bytes per read, however many are asked for."""

    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def readable(self):
        return True

    def read(self, n=-1):
        chunk = self.data[self.at : self.at + 7]
        self.at += len(chunk)
        return chunk


def test_seven_byte_reads_give_the_same_report(demo_parts):
    data = demo_parts[0].read_bytes()
    whole = auditlens.analyze([data])
    dribbled = auditlens.analyze([Dribble(data)])
    assert dribbled.summary["files"][0]["path"] == "<stream 1>"
    dribbled.summary["files"][0]["path"] = "<bytes 1>"
    assert dribbled.summary == whole.summary
    assert len(dribbled.findings) == len(whole.findings) > 0
    assert [dict(f, file="<bytes 1>") for f in dribbled.findings] == whole.findings


def test_a_bad_line_is_a_diagnostic_and_the_stream_goes_on(demo_parts):
    lines = demo_parts[0].read_bytes().splitlines(keepends=True)
    broken = lines[0] + b"{this is not json\n" + b"".join(lines[1:])
    report = auditlens.analyze([broken])
    assert report.summary["rejected"] == 1
    assert report.summary["accepted"] == len(lines)
    [diagnostic] = [d for d in report.diagnostics if d["severity"] == "error"]
    assert diagnostic["line"] == 2
    assert diagnostic["file"] == "<bytes 1>"


def test_a_missing_file_raises_with_its_name(tmp_path):
    missing = tmp_path / "no-such-audit.log"
    with pytest.raises(FileNotFoundError) as error:
        auditlens.analyze([str(missing)])
    assert str(missing) in str(error.value)


def test_a_bad_baseline_raises_with_its_name_and_line(tmp_path):
    path = tmp_path / "broken-baseline.json"
    path.write_text('{"format": "auditlens-baseline",\n "version": 1,\n "identities": [}\n')
    with pytest.raises(ValueError) as error:
        auditlens.Baseline.load(path)
    assert str(path) in str(error.value)
    assert "line 3" in str(error.value)


def test_a_bad_rule_configuration_raises_with_its_name_and_line(tmp_path, demo_parts):
    path = tmp_path / "rules.toml"
    path.write_text('disabled = ["k8s.activity"]\nthresholds = [oops\n')
    with pytest.raises(ValueError) as error:
        auditlens.analyze(demo_parts[:1], config=path)
    assert str(path) in str(error.value)
    assert "line 2" in str(error.value)
    with pytest.raises(ValueError, match="not a rule id"):
        auditlens.analyze(demo_parts[:1], config='disabled = ["k8s.no_such_rule"]\n')


def test_a_rule_configuration_changes_findings_as_in_the_cli(cli, demo, tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text('disabled = ["k8s.access.denied", "k8s.secret"]\n')
    expected = run_cli(cli, "analyze", "--format", "jsonl", "--config", path, demo)
    by_path = auditlens.analyze([str(demo)], config=str(path)).findings
    by_text = auditlens.analyze([str(demo)], config=path.read_text()).findings
    assert as_jsonl(by_path) == expected
    assert by_text == by_path
    unconfigured = auditlens.analyze([str(demo)]).findings
    assert any("k8s.access.denied" in f["rules"] for f in unconfigured)
    assert not any(r.startswith(("k8s.access.denied", "k8s.secret")) for f in by_path for r in f["rules"])


def test_findings_arrow_has_a_row_per_finding_and_a_column_per_field(demo_parts):
    pyarrow = pytest.importorskip("pyarrow")
    report = auditlens.analyze(demo_parts)
    table = report.findings_arrow()
    assert isinstance(table, pyarrow.Table)
    assert table.num_rows == len(report.findings) > 0
    assert table.column("auditID").to_pylist() == [f["auditID"] for f in report.findings]
    assert table.column("reasons").to_pylist()[0] == report.findings[0]["reasons"]
    assert set(report.findings[0]) <= set(table.column_names)


def test_findings_arrow_without_pyarrow_says_how_to_install_it(monkeypatch, demo_parts):
    report = auditlens.analyze(demo_parts[:1])
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(ImportError, match="pip install pyarrow"):
        report.findings_arrow()
