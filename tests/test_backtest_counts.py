"""`brandmon backtest counts` as users run it, on CSV files generated here (no shared datasets)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from brandmon.backtest import backtest
from tests.test_spike_detector import series

BURST_AT = 2 * 288 + 170  # 14:10 on the third day, 5-minute buckets


def write_series(path: Path, bursts: dict[int, float] | None = None, header: str = "timestamp,value") -> Path:
    rows = series(300, 3, 120, seed=21, bursts=bursts)
    lines = [header] if header else []
    lines += [f"{at:%Y-%m-%d %H:%M:%S},{int(count)}" for at, count in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(backtest, ["counts", *args], input=stdin)


def parse(result: Result) -> list[dict[str, str]]:
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


@pytest.fixture
def burst_csv(tmp_path: Path) -> Path:
    return write_series(tmp_path / "counts.csv", {BURST_AT + k: 60.0 for k in range(4)})


def test_writes_one_scored_row_per_input_row_and_flags_the_burst(burst_csv: Path) -> None:
    rows = parse(run(str(burst_csv)))
    assert list(rows[0]) == ["timestamp", "value", "score", "alert"]
    assert len(rows) == 3 * 288
    assert all(0.0 <= float(row["score"]) <= 1.0 for row in rows)
    alerts = [i for i, row in enumerate(rows) if row["alert"] == "1"]
    assert len(alerts) == 1
    assert BURST_AT <= alerts[0] <= BURST_AT + 1
    assert rows[5]["timestamp"] == burst_csv.read_text().splitlines()[6].split(",")[0]


def test_stdin_and_an_explicit_bucket_give_the_same_result(burst_csv: Path) -> None:
    from_file = run(str(burst_csv)).stdout
    assert run("-", stdin=burst_csv.read_text()).stdout == from_file
    assert run(str(burst_csv), "--bucket", "5m").stdout == from_file
    assert run(str(burst_csv), "--bucket", "1h").exit_code == 0


def test_no_header_other_column_order_and_timestamp_formats(tmp_path: Path, burst_csv: Path) -> None:
    expected = [row["alert"] for row in parse(run(str(burst_csv)))]
    bare = write_series(tmp_path / "bare.csv", {BURST_AT + k: 60.0 for k in range(4)}, header="")
    assert [row["alert"] for row in parse(run(str(bare)))] == expected
    swapped = tmp_path / "swapped.csv"
    swapped.write_text(
        "value,timestamp,source\n3,2024-05-06T00:00:00Z,x\n4,1714953900,x\n5,2024-05-06T00:10:00+00:00,x\n"
    )
    assert [row["value"] for row in parse(run(str(swapped)))] == ["3", "4", "5"]


@pytest.mark.parametrize("sensitivity", ["fewer", "balanced", "more"])
def test_every_sensitivity_runs(burst_csv: Path, sensitivity: str) -> None:
    assert len(parse(run(str(burst_csv), "--sensitivity", sensitivity))) == 3 * 288


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "timestamp,value\n2024-01-01 00:00:00,1\n2024-01-01 00:05:00,abc\n",
            "line 3: value 'abc' is not a number",
        ),
        ("timestamp,value\nyesterday,1\n", "line 2: timestamp 'yesterday' is not ISO 8601"),
        ("2024-01-01 00:00:00\n", "line 1: expected the columns timestamp,value"),
        ("timestamp,value\n2024-01-01 00:00:00,-3\n", "line 2: value '-3' must be a finite count"),
        ("timestamp,value\n2024-01-01 00:00:00,nan\n", "line 2: value 'nan' must be a finite count"),
        (
            "timestamp,value\n2024-01-01 00:05:00,1\n2024-01-01 00:00:00,2\n",
            "line 3: timestamp 2024-01-01 00:00:00 is not after",
        ),
        ("timestamp,count\n2024-01-01 00:00:00,1\n", "line 1: header has no `value` column"),
        ("timestamp,value\n", "no data rows"),
        ("2024-01-01 00:00:00,1\n", "pass --bucket"),
    ],
)
def test_bad_input_names_the_line_and_the_problem_without_a_traceback(content: str, message: str) -> None:
    result = run("-", stdin=content)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"), [(["--bucket", "5x"], "--bucket"), (["--sensitivity", "all"], "--sensitivity")]
)
def test_bad_options_are_usage_errors(burst_csv: Path, args: list[str], message: str) -> None:
    result = run(str(burst_csv), *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = run(str(tmp_path / "absent.csv"))
    assert result.exit_code == 2
    assert "absent.csv" in result.stderr


def test_registered_on_the_brandmon_cli(burst_csv: Path) -> None:
    from brandmon.cli import _register_commands

    result = CliRunner().invoke(_register_commands(), ["backtest", "counts", str(burst_csv)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("timestamp,value,score,alert\n")
