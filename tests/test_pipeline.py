"""End to end on the real embedded broker with a real `brandmon worker` process."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import time
from collections import Counter
from pathlib import Path

import orjson
import psutil
import pytest
from jsonschema import Draft202012Validator
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from brandmon.partitioning import partition_for
from brandmon.schemas import (
    DLQ_TOPIC,
    MAX_MESSAGE_BYTES,
    RAW_TOPIC,
    SCORED_TOPIC,
    Deletion,
    ScoredMention,
    schema_filename,
)
from brandmon.settings import Settings
from connectors.publisher import MentionPublisher
from tests.conftest import REPO, wait_for
from tests.kafka_helpers import (
    WINDOW_CHANGELOG,
    mention,
    metric_sum,
    produce_raw,
    publish,
    read_topic,
    scrape,
    window_counts,
)

pytestmark = pytest.mark.broker

# (text, declared language, expected language, brands it mentions): the verifier's truth,
# written by hand, independent of brandmon's matcher and detector.
TEMPLATES: list[tuple[str, str | None, str, set[str]]] = [
    ("I love acme, best tools ever! 😍", "en", "en", {"acme"}),
    ("globex support is awful and slow", "en", "en", {"globex"}),
    ("Switched from @acmeinc to #globex, no regrets", "en", "en", {"acme", "globex"}),
    ("Initech printers jam again. Terrible.", "en-GB", "en", {"initech"}),
    ("Ich mag acme nicht, der Service ist schlecht", "de", "de", {"acme"}),
    ("pineapple pizza is fine", "en", "en", set()),
    ("Acme corp!", None, "und", {"acme"}),
    ("Acme corp reports quarterly results", None, "en", {"acme"}),
    ("Why is the acme app so slow? It is not what I paid for", None, "en", {"acme"}),
]
EXPECTED_LANG = {text: lang for text, _, lang, _ in TEMPLATES}


def _corpus(count: int, start: float) -> tuple[list, Counter[tuple[str, str]]]:
    mentions, expected = [], Counter()
    for n in range(count):
        text, lang, _, brands = TEMPLATES[n % len(TEMPLATES)]
        item = mention(n, f"{text} #{n}", lang=lang, created_at=start + (n % 180))
        mentions.append(item)
        for brand in brands:
            expected[(item.id, brand)] += 1
    return mentions, expected


def _scored(records: list[tuple[bytes | None, bytes]]) -> list[ScoredMention]:
    return [ScoredMention.model_validate_json(value) for _, value in records]


def test_every_mention_is_scored_once_with_brand_sentiment_counts_and_metrics(
    settings: Settings, start_worker
) -> None:
    start = math.floor(time.time() / 60) * 60 - 180
    mentions, expected = _corpus(700, start)
    worker = start_worker()
    asyncio.run(publish(settings, mentions))

    records = asyncio.run(
        read_topic(settings, SCORED_TOPIC, lambda r: len(r) >= sum(expected.values()), give_up_after=90)
    )
    scored = _scored(records)
    assert Counter((r.mention.id, r.brand) for r in scored) == expected

    vader = SentimentIntensityAnalyzer()
    validator = Draft202012Validator(
        json.loads((REPO / "schemas" / schema_filename(SCORED_TOPIC)).read_text())
    )
    for (key, value), record in zip(records, scored, strict=True):
        assert key == record.brand.encode()
        validator.validate(orjson.loads(value))
        assert record.lang == EXPECTED_LANG[record.mention.text.rpartition(" #")[0]]
        if record.lang == "de":
            assert record.sentiment is not None
            assert record.sentiment.model == "brandmon-lexicon-de"
            assert record.sentiment.label == "negative"
        elif record.lang != "en":
            assert record.sentiment is None
        else:
            assert record.sentiment is not None
            expected_scores = vader.polarity_scores(record.mention.text)
            assert record.sentiment.compound == expected_scores["compound"]
            assert (record.sentiment.pos, record.sentiment.neu, record.sentiment.neg) == (
                expected_scores["pos"],
                expected_scores["neu"],
                expected_scores["neg"],
            )
            assert record.sentiment.model == "vaderSentiment"

    per_brand = Counter(brand for _, brand in expected.elements())
    wait_for(
        lambda: metric_sum(scrape(worker.metrics_url), "brandmon_mentions_total") == sum(per_brand.values()),
        timeout=20,
        what="metrics to catch up",
    )
    samples = scrape(worker.metrics_url)
    for brand, count in per_brand.items():
        assert metric_sum(samples, "brandmon_mentions_total", brand=brand) == count
        compounds = [r.sentiment.compound for r in scored if r.brand == brand and r.sentiment]
        assert metric_sum(samples, "brandmon_sentiment_compound_count", brand=brand) == len(compounds)
        assert metric_sum(samples, "brandmon_sentiment_compound_sum", brand=brand) == pytest.approx(
            sum(compounds)
        )
    assert metric_sum(samples, "brandmon_mentions_total", brand="acme", sentiment="none") == sum(
        1 for r in scored if r.brand == "acme" and r.sentiment is None
    )

    truth = Counter((r.brand, float(math.floor(r.mention.created_at.timestamp() / 60) * 60)) for r in scored)
    changelog = asyncio.run(
        read_topic(settings, WINDOW_CHANGELOG, lambda r: window_counts(r) == truth, give_up_after=30)
    )
    assert window_counts(changelog) == truth

    listening = [
        c for c in psutil.Process(worker.process.pid).net_connections("inet") if c.status == "LISTEN"
    ]
    assert listening, "the worker should serve /metrics"
    assert all(c.laddr.ip == "127.0.0.1" for c in listening), listening


def _good(n: int, text: str = "acme is great") -> bytes:
    return mention(n, text).model_dump_json().encode()


def test_malformed_values_go_to_the_dlq_with_reasons_and_the_stream_keeps_flowing(
    settings: Settings, start_worker
) -> None:
    batch_with_one_bad = orjson.dumps(
        {"mentions": [orjson.loads(_good(10)), {"id": "x:1", "text": "no dates"}, orjson.loads(_good(11))]}
    )
    poison = {
        "invalid_json": b'{"mentions": [',
        "invalid_utf8": b'{"id": "mastodon:1", "text": "\xff\xfe"}',
        "missing_field": orjson.dumps({"id": "mastodon:2", "source": "mastodon"}),
        "oversize": b'{"pad": "' + b"a" * MAX_MESSAGE_BYTES + b'"}',
        "invalid_id": _good(3).replace(b'"mastodon:3"', b'"mastodon:3\\u0007"'),
        "not_an_object": b"[1, 2, 3]",
    }
    values = [_good(1), *list(poison.values()), batch_with_one_bad, _good(20), _good(21)]
    worker = start_worker()
    asyncio.run(produce_raw(settings, RAW_TOPIC, values))

    dead = asyncio.run(read_topic(settings, DLQ_TOPIC, lambda r: len(r) >= len(poison) + 1, give_up_after=90))
    letters = [orjson.loads(value) for _, value in dead]
    assert Counter(letter["reason"] for letter in letters) == Counter([*poison, "missing_field"])
    for letter in letters:
        assert letter["origin"]["topic"] == RAW_TOPIC
        if letter["origin"]["index"] is None:
            assert base64.b64decode(letter["original"]) in values
            assert not letter["original_truncated"]
        else:
            assert letter["origin"]["index"] == 1
            assert orjson.loads(base64.b64decode(letter["original"]))["id"] == "x:1"

    scored = _scored(asyncio.run(read_topic(settings, SCORED_TOPIC, lambda r: len(r) >= 5, give_up_after=30)))
    assert sorted(r.mention.id for r in scored) == sorted(
        ["mastodon:1", "mastodon:10", "mastodon:11", "mastodon:20", "mastodon:21"]
    )
    first, last = min(r.scored_at for r in scored), max(r.scored_at for r in scored)
    # a crashed Faust agent restarts after ~5 s; a loaded machine needs a few seconds anyway
    assert (last - first).total_seconds() < 4.0, "poison messages must not stall the partition"
    log = worker.log()
    assert "Traceback" not in log, log[-3000:]
    assert "crashed" not in log.lower(), log[-3000:]
    samples = scrape(worker.metrics_url)
    assert metric_sum(samples, "brandmon_dlq_total", reason="missing_field") == 2
    assert metric_sum(samples, "brandmon_dlq_total") == len(poison) + 1


def test_worker_refuses_an_invalid_config_naming_field_and_line(
    settings: Settings, tmp_path: Path, start_worker
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("brands:\n  - id: Acme Corp\n    name: Acme\n    aliases: [acme]\n")
    worker = start_worker(BRANDMON_CONFIG=str(bad))
    assert worker.process.wait(60) == 2
    log = worker.log()
    assert "bad.yaml:2:" in log
    assert "brands[0].id" in log
    assert "fix:" in log


def test_publisher_delivers_every_mention_once_in_batches_on_the_id_partition(settings: Settings) -> None:
    mentions = [mention(n, "acme " + "x" * (n % 900)) for n in range(20_000)]
    asyncio.run(publish(settings, mentions))
    records = asyncio.run(read_topic(settings, RAW_TOPIC, lambda r: False, give_up_after=3))
    seen: Counter[str] = Counter()
    for key, value in records:
        batch = orjson.loads(value)["mentions"]
        assert len(value) <= MAX_MESSAGE_BYTES
        assert len(batch) <= settings.batch_max_mentions
        partitions = {partition_for(item["id"], settings.topic_partitions) for item in batch}
        assert len(partitions) == 1, "a batch must hold mentions of one partition only"
        assert key == batch[0]["id"].encode()
        seen.update(item["id"] for item in batch)
    assert seen == Counter(m.id for m in mentions)


def test_edits_and_deletions_reach_the_stream_on_the_mentions_partition(
    settings: Settings, start_worker
) -> None:
    original = mention(1, "acme is great")
    edited = original.model_copy(update={"text": "acme is awful", "edited_at": original.created_at})
    deletion = Deletion(id=original.id, deleted_at=original.created_at)

    async def produce() -> None:
        async with MentionPublisher(settings, settings.kafka_bootstrap or "") as publisher:
            await publisher.publish([original, edited])
            await publisher.delete([deletion])

    worker = start_worker()
    asyncio.run(produce())
    raw = asyncio.run(read_topic(settings, RAW_TOPIC, lambda r: len(r) >= 2, give_up_after=30))
    assert [key for key, _ in raw] == [original.id.encode(), original.id.encode()]
    assert orjson.loads(raw[-1][1]) == {"deletions": [orjson.loads(deletion.model_dump_json())]}

    scored = _scored(asyncio.run(read_topic(settings, SCORED_TOPIC, lambda r: len(r) >= 2, give_up_after=60)))
    assert [r.mention.text for r in scored] == ["acme is great", "acme is awful"]

    def deletion_counted() -> bool:
        return metric_sum(scrape(worker.metrics_url), "brandmon_deletions_total") == 1

    wait_for(deletion_counted, 30, "the deletion in /metrics")
    samples = scrape(worker.metrics_url)
    assert metric_sum(samples, "brandmon_dlq_total") == 0
    assert metric_sum(samples, "brandmon_mentions_total", brand="acme") == 1, "an edit is not counted again"
