"""Spike alerts end to end on the real broker: two days of history with a rumour, through a worker."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import timedelta

import orjson
import pytest
from jsonschema import Draft202012Validator

from brandmon.schemas import ALERTS_TOPIC, Alert, schema_filename
from brandmon.settings import Settings
from tests.conftest import REPO, wait_for
from tests.kafka_helpers import metric_sum, publish, read_topic, scrape
from tests.test_spike_monitor import BUCKET, DAYS, START, background, rumour

pytestmark = pytest.mark.broker


def test_a_rumour_in_history_opens_one_explained_alert_that_resolves(
    settings: Settings, start_worker
) -> None:
    rng = random.Random(5)
    records = list(background(rng, DAYS * 86400 // BUCKET))
    burst_at = START + timedelta(days=1, hours=15)
    for step in range(3):
        records += rumour(burst_at + timedelta(seconds=step * BUCKET), 40, 1_000_000 + step * 100)
    worker = start_worker(BRANDMON_SPIKE_BUCKET_SECONDS=str(BUCKET), BRANDMON_SPIKE_LATENESS_SECONDS="60")
    mentions = sorted((r.mention for r in records), key=lambda m: m.created_at)
    for chunk_start in range(0, len(mentions), 250):  # a backfill, page by page (~3 hours each)
        asyncio.run(publish(settings, mentions[chunk_start : chunk_start + 250]))

    found = asyncio.run(
        read_topic(
            settings,
            ALERTS_TOPIC,
            lambda got: any(b'"resolved"' in value for _, value in got),
            give_up_after=120,
        )
    )
    alerts = [Alert.model_validate_json(value) for _, value in found]
    assert alerts, worker.log()[-3000:]
    assert alerts[0].state == "opened"
    assert alerts[-1].state == "resolved"
    assert [a.state for a in alerts].count("opened") == 1
    opened = alerts[0]
    assert opened.brand == "acme"
    assert opened.first_seen == burst_at
    assert {t.term for t in opened.driving_terms} & {"recall", "anvil recall"}
    assert len(opened.posts) >= 3
    assert opened.rumour.enquiry_share > 0.2
    assert {key for key, _ in found} == {b"acme"}

    validator = Draft202012Validator(
        json.loads((REPO / "schemas" / schema_filename(ALERTS_TOPIC)).read_text())
    )
    for _, value in found:
        validator.validate(orjson.loads(value))

    def counted() -> bool:
        samples = scrape(worker.metrics_url)
        return metric_sum(samples, "brandmon_alerts_total", brand="acme", state="resolved") == 1

    wait_for(counted, 20, "the resolved alert in /metrics")
    samples = scrape(worker.metrics_url)
    assert metric_sum(samples, "brandmon_alerts_total", brand="acme", state="opened") == 1
    assert metric_sum(samples, "brandmon_alerts_active", brand="acme") == 0
    assert metric_sum(samples, "brandmon_late_mentions_total") == 0
