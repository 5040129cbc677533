"""`brandmon run`: configured connectors and a worker on one broker, as users start them."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from brandmon.broker import free_port
from brandmon.schemas import SCORED_TOPIC, ScoredMention
from brandmon.settings import Settings
from tests.conftest import TEST_CONFIG, wait_for
from tests.kafka_helpers import metric_sum, read_topic, scrape
from tests.test_spike_monitor import background

pytestmark = pytest.mark.broker


def test_run_replays_a_file_through_the_worker_and_reports_source_health(
    settings: Settings, tmp_path: Path
) -> None:
    mentions = [r.mention for r in background(random.Random(8), 12)]
    history = tmp_path / "history.jsonl"
    history.write_bytes(b"".join(orjson.dumps(m.model_dump(mode="json")) + b"\n" for m in mentions))
    config = tmp_path / "run.yaml"
    config.write_text(
        TEST_CONFIG + f"sources:\n  - {{kind: replay, name: history, options: {{path: '{history}'}}}}\n"
    )
    connector_port = free_port()
    env = dict(
        os.environ,
        BRANDMON_KAFKA_BOOTSTRAP=settings.kafka_bootstrap or "",
        BRANDMON_CONFIG=str(config),
        BRANDMON_DATA_DIR=str(tmp_path / "data"),
        BRANDMON_METRICS_PORT=str(free_port()),
        BRANDMON_CONNECTOR_METRICS_PORT=str(connector_port),
    )
    run = subprocess.Popen([sys.executable, "-m", "brandmon.cli", "run"], env=env, cwd=tmp_path)
    try:
        records = asyncio.run(
            read_topic(settings, SCORED_TOPIC, lambda r: len(r) >= len(mentions), give_up_after=90)
        )
        assert sorted(ScoredMention.model_validate_json(v).mention.id for _, v in records) == sorted(
            m.id for m in mentions
        )

        def counted() -> bool:
            samples = scrape(f"http://127.0.0.1:{connector_port}/metrics")
            return metric_sum(samples, "brandmon_source_items_total", source="history") == len(mentions)

        wait_for(counted, 20, "the replayed mentions in the connectors' /metrics")
        assert (tmp_path / "data" / "cursors" / "history.json").exists()
    finally:
        run.send_signal(signal.SIGINT)
        assert run.wait(30) == 0
