"""`brandmon backtest mentions`: history in, the alerts the stream would have raised out."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import orjson
from click.testing import CliRunner

from brandmon.backtest import backtest
from brandmon.schemas import Alert, dumps
from tests.conftest import TEST_CONFIG
from tests.test_spike_monitor import BUCKET, DAYS, START, background, rumour


def history_file(tmp_path: Path, with_rumour: bool) -> Path:
    records = list(background(random.Random(4), DAYS * 86400 // BUCKET))
    if with_rumour:
        burst_at = START + timedelta(days=1, hours=13)
        for step in range(3):
            records += rumour(burst_at + timedelta(seconds=step * BUCKET), 40, 1_000_000 + step * 100)
    path = tmp_path / "history.jsonl"
    lines = [dumps(r.mention) for r in records]
    lines.insert(10, b'{"id": "broken"')
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def run(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    config = tmp_path / "brands.yaml"
    config.write_text(TEST_CONFIG)
    result = CliRunner().invoke(backtest, ["mentions", *args, "--config", str(config), "--bucket", "5m"])
    return result.exit_code, result.stdout, result.stderr


def test_replayed_rumour_prints_one_explained_alert_and_its_resolution(tmp_path: Path) -> None:
    code, out, err = run(tmp_path, str(history_file(tmp_path, with_rumour=True)))
    assert code == 0, err
    assert "line 11: skipped (invalid_json)" in err
    assert "OPENED" in out
    assert "RESOLVED" in out
    assert "recall" in out
    assert "> @rumour" in out, "sample posts are shown"
    assert "1 alerts would have opened for" in out


def test_quiet_history_fires_nothing_and_json_output_follows_the_contract(tmp_path: Path) -> None:
    code, out, _ = run(tmp_path, str(history_file(tmp_path, with_rumour=False)))
    assert code == 0
    assert "0 alerts would have opened" in out
    code, out, _ = run(tmp_path, str(history_file(tmp_path, with_rumour=True)), "--json")
    alerts = [Alert.model_validate(orjson.loads(line)) for line in out.splitlines()]
    assert [a.state for a in alerts][:1] == ["opened"]
    assert alerts[-1].state == "resolved"
