"""The broker dies and comes back empty on the same port: connectors ride it out, workers refuse it.

The embedded broker keeps everything in memory, so what it had acknowledged before it died is
gone with it: that is its nature, not a loss these tests could blame on brandmon. What they hold
brandmon to is everything else: a connector keeps the page it could not deliver (its cursor
stays put), delivers it and everything after to the new broker exactly once, and shows the outage
in its health metrics; a worker notices the new cluster, says so and exits, and a fresh worker
works on the new broker.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from brandmon.broker import EmbeddedBroker, free_port
from brandmon.schemas import RAW_TOPIC
from brandmon.settings import Settings
from streams.cluster_guard import EXIT_CLUSTER_CHANGED
from tests.conftest import TEST_CONFIG, WorkerProcess, wait_for
from tests.kafka_helpers import mention, metric_sum, publish, read_topic, scrape

pytestmark = pytest.mark.broker

MENTIONS = 400
SPACING = timedelta(milliseconds=30)  # the replay's recorded pace: about 33 mentions a second
OUTAGE_SECONDS = 6.0


def _cursor(path: Path) -> int:
    return int(orjson.loads(path.read_bytes())["line"]) if path.exists() else 0


def _health(url: str) -> tuple[float, float]:
    """(publish errors so far, current back-off seconds) of the connector's /metrics."""
    samples = scrape(url)
    errors = metric_sum(samples, "brandmon_source_errors_total", source="history", kind="publish")
    return errors, metric_sum(samples, "brandmon_source_backoff_seconds", source="history")


def test_a_connector_rides_out_a_broker_restart_and_delivers_what_it_read_since(
    broker: EmbeddedBroker, settings: Settings, tmp_path: Path
) -> None:
    """`brandmon connect` replays a file at its recorded pace while the broker is killed, kept
    down for several seconds and started again, empty, on the same port.

    During the outage the cursor stays where the last acknowledged page left it and the health
    metrics count publish errors and show a back-off. After it, the connector finishes without
    a crash, and the new broker has every mention after that cursor once. The page the connector
    was delivering when the broker died may have been acknowledged by the dying broker: then it
    is gone with it (the cursor moves past it, as it was acknowledged), else the new broker has it.
    """
    start = datetime.now(UTC)
    mentions = [
        mention(n, f"acme outage {n}", created_at=(start + n * SPACING).timestamp()) for n in range(MENTIONS)
    ]
    history = tmp_path / "history.jsonl"
    history.write_bytes(b"".join(orjson.dumps(m.model_dump(mode="json")) + b"\n" for m in mentions))
    source = {"kind": "replay", "name": "history", "options": {"path": str(history), "pace": "recorded"}}
    config = tmp_path / "brands.yaml"
    config.write_text(TEST_CONFIG + "sources:\n  - " + orjson.dumps(source).decode() + "\n")
    metrics_port = free_port()
    env = dict(
        os.environ,
        BRANDMON_KAFKA_BOOTSTRAP=broker.bootstrap,
        BRANDMON_DATA_DIR=str(tmp_path / "data"),
        BRANDMON_CONNECTOR_METRICS_PORT=str(metrics_port),
        BRANDMON_BATCH_LINGER_MS="20",
    )
    log = tmp_path / "connect.log"
    with log.open("wb") as out:
        connector = subprocess.Popen(
            [sys.executable, "-m", "brandmon.cli", "connect", "history", "--config", str(config)],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    cursor_file = tmp_path / "data" / "cursors" / "history.json"
    health_url = f"http://127.0.0.1:{metrics_port}/metrics"
    try:
        wait_for(lambda: _cursor(cursor_file) >= 60, 30, "the connector to publish 60 mentions")
        broker.kill()
        killed_at = time.monotonic()
        held = _cursor(cursor_file)
        cursors, health = [], []
        while time.monotonic() - killed_at < OUTAGE_SECONDS:
            time.sleep(0.5)
            cursors.append(_cursor(cursor_file))
            health.append(_health(health_url))
        assert connector.poll() is None, f"the connector crashed:\n{log.read_text()[-3000:]}"
        assert set(cursors) == {held}, "no cursor moves while no broker can acknowledge"
        errors, backoff = health[-1]
        assert errors >= 1, f"publish errors counted: {health}"
        assert backoff > 0, f"the back-off shows: {health}"

        broker.start()
        wait_for(lambda: _cursor(cursor_file) > held + 1, 20, "the cursor to move on the new broker")
        assert _health(health_url)[1] == 0, "no back-off once Kafka has the pages again"
        assert connector.wait(60) == 0, log.read_text()[-3000:]
    finally:
        if connector.poll() is None:
            connector.kill()
            connector.wait()

    assert _cursor(cursor_file) == MENTIONS, "the replay went to the end"
    after_outage = {m.id for m in mentions[held + 1 :]}  # line n holds mentions[n - 1]
    records = asyncio.run(
        read_topic(settings, RAW_TOPIC, lambda r: _ids(r).keys() >= after_outage, give_up_after=20)
    )
    on_new_broker = _ids(records)
    assert after_outage <= on_new_broker.keys(), "every mention read after the outage began"
    assert on_new_broker.keys() <= {m.id for m in mentions[held:]}, "nothing from before the held cursor"
    assert max(on_new_broker.values()) == 1, "no mention twice"


def _ids(records: list[tuple[bytes | None, bytes]]) -> Counter[str]:
    return Counter(item["id"] for _, value in records for item in orjson.loads(value)["mentions"])


def test_a_worker_exits_loudly_when_the_broker_comes_back_empty_and_a_fresh_one_works_on_it(
    broker: EmbeddedBroker, settings: Settings, start_worker: Callable[..., WorkerProcess]
) -> None:
    """A running worker with counts, offsets and a changelog on the broker; the broker is killed
    and started again on the same port, empty, with a new cluster id. The worker must not carry
    on as if nothing happened (it used to: reconnect, commit, and leave the next start hanging in
    table recovery). It logs CRITICAL naming both cluster ids and exits with code 75 for its
    supervisor; a fresh worker then starts on the new broker and counts what arrives there."""
    worker = start_worker()
    asyncio.run(publish(settings, [mention(n, f"acme before {n}") for n in range(100)]))
    wait_for(lambda: counted(worker) == 100, 60, "the first worker to count 100 mentions")

    old_id = broker.cluster_id
    broker.kill()
    time.sleep(2)
    broker.start()
    wait_for(lambda: worker.process.poll() is not None, 20, "the worker to notice the new cluster")
    log = worker.log()
    assert worker.process.returncode == EXIT_CLUSTER_CHANGED, log[-3000:]
    critical = [line for line in log.splitlines() if "[CRITICAL]" in line]
    assert len(critical) == 1, log[-3000:]
    assert f"cluster id changed from {old_id} to {broker.cluster_id}" in critical[0]
    assert "not the one this worker's state came from" in critical[0]

    fresh = start_worker()
    asyncio.run(publish(settings, [mention(n, f"acme after {n}") for n in range(1000, 1050)]))
    wait_for(lambda: counted(fresh) == 50, 60, "the fresh worker to count the 50 new mentions")
    assert fresh.process.poll() is None, "the fresh worker keeps running on the new cluster"


def counted(worker: WorkerProcess) -> float | None:
    """Mentions the worker counted (brandmon_mentions_total), None while its /metrics does not answer."""
    try:
        return metric_sum(scrape(worker.metrics_url), "brandmon_mentions_total")
    except OSError:
        return None
