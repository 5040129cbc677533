"""kill -9 a publishing connector mid-stream and start it again: no mention lost, none scored twice."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from brandmon.schemas import RAW_TOPIC, SCORED_TOPIC, ScoredMention
from brandmon.settings import Settings
from tests.conftest import TEST_CONFIG
from tests.kafka_helpers import read_topic
from tests.test_spike_monitor import START, record

pytestmark = pytest.mark.broker


def test_a_connector_killed_mid_stream_resumes_without_gap_or_double_count(
    settings: Settings, start_worker, tmp_path: Path
) -> None:
    rng = random.Random(9)
    mentions = [
        record(
            f"acme news {n}", f"user{rng.randrange(50)}", START + timedelta(milliseconds=20 * n), n
        ).mention
        for n in range(300)
    ]
    history = tmp_path / "history.jsonl"
    history.write_bytes(b"".join(orjson.dumps(m.model_dump(mode="json")) + b"\n" for m in mentions))
    config = tmp_path / "brands.yaml"
    source = {"kind": "replay", "name": "history", "options": {"path": str(history), "pace": "recorded"}}
    config.write_text(TEST_CONFIG + "sources:\n  - " + orjson.dumps(source).decode() + "\n")
    env = dict(
        os.environ,
        BRANDMON_KAFKA_BOOTSTRAP=settings.kafka_bootstrap or "",
        BRANDMON_DATA_DIR=str(tmp_path / "data"),
    )
    command = [sys.executable, "-m", "brandmon.cli", "connect", "history", "--config", str(config)]
    start_worker()

    first = subprocess.Popen(command, env=env, cwd=tmp_path)
    cursor = tmp_path / "data" / "cursors" / "history.json"
    deadline = time.monotonic() + 30
    while (
        not (cursor.exists() and orjson.loads(cursor.read_bytes())["line"] >= 60)
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    stopped_at = orjson.loads(cursor.read_bytes())["line"]
    assert 0 < stopped_at < len(mentions), "killed mid-stream"

    second = subprocess.run(command, env=env, cwd=tmp_path, timeout=60, check=False)
    assert second.returncode == 0

    raw = asyncio.run(read_topic(settings, RAW_TOPIC, lambda r: False, give_up_after=3))
    published = Counter(item["id"] for _, value in raw for item in orjson.loads(value)["mentions"])
    assert set(published) == {m.id for m in mentions}, "no gap"
    asyncio.run(read_topic(settings, SCORED_TOPIC, lambda r: len(r) >= len(mentions), give_up_after=60))
    scored = asyncio.run(read_topic(settings, SCORED_TOPIC, lambda r: False, give_up_after=3))  # and no more
    counts = Counter(ScoredMention.model_validate_json(value).mention.id for _, value in scored)
    assert counts == Counter({m.id: 1 for m in mentions}), "each mention scored exactly once"
