"""The consumer Faust builds for the worker holds a fetch for at most `FETCH_WAIT_MS`: Faust fixes
1,500 ms, which a mention on a quiet partition would wait before it is even read."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from brandmon.config import load_config
from brandmon.settings import Settings
from streams.app import create_app
from streams.transport import FETCH_WAIT_MS
from tests.conftest import TEST_CONFIG


async def test_the_worker_consumer_waits_for_fetches_at_most_the_short_wait(tmp_path: Path) -> None:
    path = tmp_path / "brands.yaml"
    path.write_text(TEST_CONFIG)
    settings = Settings(kafka_bootstrap="127.0.0.1:1", data_dir=tmp_path)
    app = create_app(settings, load_config(path), "127.0.0.1:1", CollectorRegistry())
    consumer_thread = app.consumer._thread  # type: ignore[attr-defined]  # not started: only its consumer is built
    consumer = consumer_thread._create_worker_consumer(app.transport)
    try:
        assert FETCH_WAIT_MS <= 200
        assert consumer._fetch_max_wait_ms == FETCH_WAIT_MS
    finally:
        await consumer.stop()
        consumer_thread.thread_loop.close()
