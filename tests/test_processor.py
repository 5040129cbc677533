"""`MentionProcessor.handle` without Kafka: a recording `send`, a dict window store, real scoring."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from prometheus_client import CollectorRegistry
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from brandmon.config import BrandConfig
from brandmon.schemas import (
    DLQ_MAX_ORIGINAL_BYTES,
    DLQ_TOPIC,
    RAW_TOPIC,
    SCORED_TOPIC,
    DeadLetter,
    Mention,
    ScoredMention,
)
from streams.metrics import StreamMetrics
from streams.processor import MentionProcessor, RawMessage
from streams.scoring import MentionScorer, Scored
from streams.sentiment import label_for
from streams.windows import MemoryWindowStore, window_start

WINDOW_SECONDS = 60
CREATED = "2024-05-01T12:00:10Z"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC).timestamp()

EN_BOTH = "I absolutely love Acme Corp, but Globex support was terrible and slow."
EN_ACME = "The #acme anvil is great value, would buy again!"
DE_ACME = "Ich finde Acme nicht gut, aber der Preis ist in Ordnung."
NL_ACME = "Ik vind Acme niet goed, maar de prijs is in orde."
"""Dutch is detected (so it is not mistaken for German or Danish) but has no sentiment model."""
NO_BRAND = "Nothing to see here, just a sunny day in the park."


BRANDS = [
    BrandConfig(id="acme", name="acme", aliases=["acme", "#acme", "acme corp"]),
    BrandConfig(id="globex", name="globex", aliases=["globex", "#globex"]),
]


@dataclass
class Recorder:
    records: list[tuple[str, bytes | None, bytes]] = field(default_factory=list)
    calls: int = 0
    refuse: bool = False

    async def send(self, records: list[tuple[str, bytes | None, bytes]]) -> None:
        self.calls += 1
        if self.refuse:
            raise ConnectionError("broker unavailable")
        self.records.extend(records)

    def topic(self, topic: str) -> list[tuple[bytes | None, bytes]]:
        return [(key, value) for t, key, value in self.records if t == topic]

    def scored(self) -> list[tuple[bytes | None, ScoredMention]]:
        return [(key, ScoredMention.model_validate_json(value)) for key, value in self.topic(SCORED_TOPIC)]

    def dead_letters(self) -> list[dict[str, Any]]:
        letters = []
        for key, value in self.topic(DLQ_TOPIC):
            assert key is None
            DeadLetter.model_validate_json(value)
            letters.append(orjson.loads(value))
        return letters


@dataclass
class Harness:
    registry: CollectorRegistry
    metrics: StreamMetrics
    sent: Recorder
    store: MemoryWindowStore
    processor: MentionProcessor

    def restarted(self) -> MentionProcessor:
        """A new worker after a crash: empty dedup cache, window table recovered from its changelog."""
        return new_processor(self.metrics, self.sent)

    def sample(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0

    def mentions_total(self, brand: str, source: str, sentiment: str) -> float:
        return self.sample("brandmon_mentions_total", brand=brand, source=source, sentiment=sentiment)


def new_processor(
    metrics: StreamMetrics, sent: Recorder, scorer: MentionScorer | None = None
) -> MentionProcessor:
    return MentionProcessor(
        scorer or MentionScorer(BRANDS),
        metrics,
        sent.send,
        window_seconds=WINDOW_SECONDS,
        dedup_ttl_seconds=3600,
        dedup_max_ids=10_000,
    )


@pytest.fixture
def harness() -> Harness:
    registry = CollectorRegistry()
    metrics = StreamMetrics([b.id for b in BRANDS], registry)
    sent = Recorder()
    return Harness(registry, metrics, sent, MemoryWindowStore(), new_processor(metrics, sent))


def mention(native_id: str, text: str, **overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "id": f"rss:{native_id}",
        "source": "rss",
        "text": text,
        "created_at": CREATED,
        "fetched_at": "2024-05-01T12:00:20Z",
    }
    value.update(overrides)
    return value


def batch(*mentions: dict[str, Any]) -> bytes:
    return orjson.dumps({"mentions": list(mentions)})


def raw(value: bytes | None, offset: int = 0, partition: int = 0) -> RawMessage:
    return RawMessage(RAW_TOPIC, partition, offset, value)


def vader(text: str) -> dict[str, float]:
    scores: dict[str, float] = SentimentIntensityAnalyzer().polarity_scores(text)
    return scores


async def test_batch_produces_one_record_per_mention_and_brand(harness: Harness) -> None:
    value = batch(
        mention("1", EN_BOTH, lang_declared="en"),
        mention("2", DE_ACME),
        mention("3", EN_ACME),
        mention("4", NO_BRAND),
    )
    await harness.processor.handle(raw(value, offset=3, partition=1), harness.store)

    assert harness.sent.calls == 1
    assert harness.sent.dead_letters() == []
    scored = harness.sent.scored()
    assert [(key, r.mention.id, r.brand) for key, r in scored] == [
        (b"acme", "rss:1", "acme"),
        (b"globex", "rss:1", "globex"),
        (b"acme", "rss:2", "acme"),
        (b"acme", "rss:3", "acme"),
    ]
    by_id_brand = {(r.mention.id, r.brand): r for _, r in scored}
    assert by_id_brand["rss:1", "acme"].matched_terms == ["acme corp"]
    assert by_id_brand["rss:1", "globex"].matched_terms == ["globex"]
    assert by_id_brand["rss:3", "acme"].matched_terms == ["#acme"]

    for mention_id, text in (("rss:1", EN_BOTH), ("rss:3", EN_ACME)):
        record = by_id_brand[mention_id, "acme"]
        assert record.lang == "en"
        assert record.sentiment is not None
        expected = vader(text)
        got = record.sentiment
        assert (got.compound, got.pos, got.neu, got.neg) == (
            expected["compound"],
            expected["pos"],
            expected["neu"],
            expected["neg"],
        )
        assert got.label == label_for(expected["compound"])
        assert got.model == "vaderSentiment"
    assert by_id_brand["rss:1", "globex"].sentiment == by_id_brand["rss:1", "acme"].sentiment

    german = by_id_brand["rss:2", "acme"]
    assert german.lang == "de"
    assert german.sentiment is not None
    assert german.sentiment.model == "brandmon-lexicon-de"
    assert german.sentiment.label == "negative"
    assert german.mention == Mention.model_validate(mention("2", DE_ACME))

    for _, record in scored:
        assert record.scored_at.tzinfo is not None


async def test_scored_values_are_the_records_json(harness: Harness) -> None:
    await harness.processor.handle(raw(orjson.dumps(mention("1", EN_ACME))), harness.store)
    [(topic, key, value)] = harness.sent.records
    assert (topic, key) == (SCORED_TOPIC, b"acme")
    document = orjson.loads(value)
    assert document["brand"] == "acme"
    assert document["mention"]["created_at"] == "2024-05-01T12:00:10Z"
    assert document["mention"]["author"] == {"id": None, "handle": None, "followers": None}
    assert document["sentiment"]["compound"] == vader(EN_ACME)["compound"]


async def test_mention_of_no_brand_produces_nothing(harness: Harness) -> None:
    value = batch(mention("1", NO_BRAND), mention("2", "pineapple"))
    await harness.processor.handle(raw(value, offset=5), harness.store)
    assert harness.sent.records == []
    assert harness.store.values == {}
    for brand in ("acme", "globex"):
        for label in ("negative", "neutral", "positive", "none"):
            assert (
                harness.registry.get_sample_value(
                    "brandmon_mentions_total", {"brand": brand, "source": "rss", "sentiment": label}
                )
                is None
            )
    assert harness.sample("brandmon_stream_processed_offset", partition="0") == 5  # progress still tracked


async def test_window_counts_and_metrics(harness: Harness) -> None:
    value = batch(
        mention("1", EN_BOTH),
        mention("2", NL_ACME),
        mention("3", EN_ACME, created_at="2024-05-01T12:01:30Z"),  # next window
    )
    await harness.processor.handle(raw(value, offset=7, partition=2), harness.store)

    assert set(harness.store.values) == {("acme@2", T0), ("globex@2", T0), ("acme@2", T0 + 60)}
    both, acme = vader(EN_BOTH), vader(EN_ACME)
    label_both, label_acme = label_for(both["compound"]), label_for(acme["compound"])
    first = harness.store.values["acme@2", T0]
    assert first[0] == 2  # mentions: EN_BOTH and NL_ACME
    assert first[5] == 1  # scored: NL_ACME has no sentiment
    assert first[4] == both["compound"]
    assert first[6] == 7  # the source offset it applied
    assert sum(first[1:4]) == 1
    assert harness.store.values["acme@2", T0 + 60] == [
        1.0,
        float(label_acme == "negative"),
        float(label_acme == "neutral"),
        float(label_acme == "positive"),
        acme["compound"],
        1.0,
        7.0,
    ]
    assert harness.store.values["globex@2", T0][0] == 1

    assert harness.mentions_total("acme", "rss", "none") == 1
    assert harness.mentions_total("globex", "rss", label_both) == 1
    for label in ("negative", "neutral", "positive"):
        expected = [label_both, label_acme].count(label)
        assert harness.mentions_total("acme", "rss", label) == expected
    assert harness.sample("brandmon_sentiment_compound_count", brand="acme") == 2
    assert harness.sample("brandmon_sentiment_compound_sum", brand="acme") == pytest.approx(
        both["compound"] + acme["compound"]
    )
    assert harness.sample("brandmon_stream_processed_offset", partition="2") == 7
    newest = datetime(2024, 5, 1, 12, 1, 30, tzinfo=UTC).timestamp()
    assert harness.sample("brandmon_stream_last_event_timestamp_seconds", partition="2") == newest


async def test_window_store_keys_are_brand_at_partition(harness: Harness) -> None:
    await harness.processor.handle(raw(batch(mention("1", EN_BOTH)), offset=0, partition=0), harness.store)
    await harness.processor.handle(raw(batch(mention("2", EN_ACME)), offset=0, partition=3), harness.store)
    start = window_start(datetime(2024, 5, 1, 12, 0, 10, tzinfo=UTC).timestamp(), WINDOW_SECONDS)
    assert set(harness.store.values) == {("acme@0", start), ("globex@0", start), ("acme@3", start)}


async def test_duplicate_id_in_a_later_message_is_dropped(harness: Harness) -> None:
    await harness.processor.handle(raw(batch(mention("1", EN_ACME)), offset=0), harness.store)
    before = dict(harness.store.values)
    label = label_for(vader(EN_ACME)["compound"])
    assert harness.mentions_total("acme", "rss", label) == 1

    await harness.processor.handle(
        raw(batch(mention("1", "Acme again, different text"), mention("2", EN_ACME)), offset=1), harness.store
    )
    assert [r.mention.id for _, r in harness.sent.scored()] == ["rss:1", "rss:2"]
    assert harness.sample("brandmon_duplicates_total") == 1
    assert harness.mentions_total("acme", "rss", label) == 2
    assert harness.store.values[("acme@0", T0)][0] == before[("acme@0", T0)][0] + 1


async def test_duplicate_id_within_one_batch_is_dropped(harness: Harness) -> None:
    await harness.processor.handle(raw(batch(mention("1", EN_ACME), mention("1", EN_ACME))), harness.store)
    assert len(harness.sent.scored()) == 1
    assert harness.sample("brandmon_duplicates_total") == 1
    assert harness.store.values[("acme@0", T0)][0] == 1


async def test_an_edit_is_published_with_its_new_text_but_not_counted_again(harness: Harness) -> None:
    await harness.processor.handle(raw(batch(mention("1", EN_ACME)), offset=1), harness.store)
    edited = mention("1", "Acme anvils broke, terrible", edited_at="2024-05-01T12:05:00Z")
    await harness.processor.handle(raw(batch(edited), offset=2), harness.store)
    await harness.processor.handle(raw(batch(edited), offset=3), harness.store)  # the same edit again
    texts = [record.mention.text for _, record in harness.sent.scored()]
    assert texts == [EN_ACME, "Acme anvils broke, terrible"]
    assert harness.sent.scored()[1][1].mention.edited_at is not None
    assert harness.store.values[("acme@0", T0)][0] == 1
    assert harness.sample("brandmon_duplicates_total") == 1


async def test_deletions_are_accepted_and_counted_not_dead_lettered(harness: Harness) -> None:
    deletion = {"id": "rss:1", "deleted_at": "2024-05-01T12:06:00Z"}
    await harness.processor.handle(raw(orjson.dumps({"deletions": [deletion]})), harness.store)
    await harness.processor.handle(raw(orjson.dumps({"deletions": [{"id": "no id"}]})), harness.store)
    assert harness.sample("brandmon_deletions_total") == 1
    assert [letter["reason"] for letter in harness.sent.dead_letters()] == ["invalid_field"]


async def test_replay_after_restart_does_not_count_twice(harness: Harness) -> None:
    message = raw(batch(mention("1", EN_BOTH), mention("2", NL_ACME)), offset=42, partition=1)
    await harness.processor.handle(message, harness.store)
    windows = {key: list(value) for key, value in harness.store.values.items()}
    label = label_for(vader(EN_BOTH)["compound"])
    counts = (
        harness.mentions_total("acme", "rss", label),
        harness.mentions_total("acme", "rss", "none"),
        harness.mentions_total("globex", "rss", label),
    )
    assert counts == (1, 1, 1)
    assert harness.sample("brandmon_replays_skipped_total") == 0

    restarted = harness.restarted()  # forgets the ids it saw: only the offsets protect the windows
    await restarted.handle(message, harness.store)
    assert harness.store.values == windows
    assert (
        harness.mentions_total("acme", "rss", label),
        harness.mentions_total("acme", "rss", "none"),
        harness.mentions_total("globex", "rss", label),
    ) == counts
    assert harness.sample("brandmon_replays_skipped_total") == 3  # records of the two windows
    assert harness.sample("brandmon_sentiment_compound_count", brand="acme") == 1
    assert harness.sample("brandmon_duplicates_total") == 0

    # the next message after the replayed one counts again
    await restarted.handle(raw(batch(mention("3", EN_ACME)), offset=43, partition=1), harness.store)
    assert harness.store.values[("acme@1", T0)][0] == windows[("acme@1", T0)][0] + 1
    assert harness.store.values[("acme@1", T0)][6] == 43


async def test_replay_in_the_same_process_is_dropped_as_duplicates(harness: Harness) -> None:
    message = raw(batch(mention("1", EN_BOTH)), offset=5)
    await harness.processor.handle(message, harness.store)
    windows = dict(harness.store.values)
    records = len(harness.sent.records)
    await harness.processor.handle(message, harness.store)
    assert harness.store.values == windows
    assert len(harness.sent.records) == records
    assert harness.sample("brandmon_duplicates_total") == 1


async def test_redelivery_after_a_failed_send_is_scored_not_dropped_as_duplicate(harness: Harness) -> None:
    """Kafka refused the output, so the offset is not committed and the message comes again."""
    message = raw(batch(mention("1", EN_ACME)), offset=9)
    harness.sent.refuse = True
    with pytest.raises(ConnectionError):
        await harness.processor.handle(message, harness.store)
    harness.sent.refuse = False
    await harness.processor.handle(message, harness.store)
    assert [record.brand for _, record in harness.sent.scored()] == ["acme"]
    assert harness.sample("brandmon_duplicates_total") == 0


async def test_malformed_message_is_dead_lettered_with_its_origin(harness: Harness) -> None:
    value = b'{"id": "rss:1", "text": '
    await harness.processor.handle(raw(value, offset=9, partition=2), harness.store)
    [(topic, key, _)] = harness.sent.records
    assert (topic, key) == (DLQ_TOPIC, None)
    [letter] = harness.sent.dead_letters()
    assert letter["reason"] == "invalid_json"
    assert letter["detail"]
    assert letter["origin"] == {"topic": RAW_TOPIC, "partition": 2, "offset": 9, "index": None}
    assert base64.b64decode(letter["original"], validate=True) == value
    assert letter["original_bytes"] == len(value)
    assert letter["original_truncated"] is False
    assert letter["dead_lettered_at"].endswith("Z")
    assert harness.sample("brandmon_dlq_total", reason="invalid_json") == 1
    assert harness.store.values == {}


@pytest.mark.parametrize(
    "created_at",
    [
        "2024-05-01T12:00:00",  # no timezone
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
    ],
)
async def test_bad_item_in_a_batch_is_dead_lettered_alone(harness: Harness, created_at: str) -> None:
    bad = mention("2", EN_ACME, created_at=created_at)
    await harness.processor.handle(
        raw(batch(mention("1", EN_ACME), bad, mention("3", EN_ACME)), offset=4), harness.store
    )
    assert [r.mention.id for _, r in harness.sent.scored()] == ["rss:1", "rss:3"]
    [letter] = harness.sent.dead_letters()
    assert letter["reason"] == "invalid_field"
    assert letter["origin"] == {"topic": RAW_TOPIC, "partition": 0, "offset": 4, "index": 1}
    assert orjson.loads(base64.b64decode(letter["original"])) == bad
    assert harness.sample("brandmon_dlq_total", reason="invalid_field") == 1
    assert harness.store.values[("acme@0", T0)][0] == 2


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "invalid_json"),
        (b"", "invalid_json"),
        (b'{"id": "\xff"}', "invalid_utf8"),
        (b"[1, 2]", "not_an_object"),
        (orjson.dumps({"id": "rss:1", "source": "rss"}), "missing_field"),
        (orjson.dumps(mention("a b", EN_ACME)), "invalid_id"),
        (b"x" * (300 * 1024), "oversize"),
    ],
)
async def test_every_decode_reason_reaches_the_dlq(
    harness: Harness, value: bytes | None, reason: str
) -> None:
    await harness.processor.handle(raw(value, offset=1), harness.store)
    [letter] = harness.sent.dead_letters()
    assert letter["reason"] == reason
    assert base64.b64decode(letter["original"]) == (value or b"")
    assert letter["original_bytes"] == len(value or b"")
    assert harness.sample("brandmon_dlq_total", reason=reason) == 1


async def test_huge_original_is_truncated_in_the_dead_letter(harness: Harness) -> None:
    value = bytes(range(256)) * (3 * 1024)  # 768 KiB
    await harness.processor.handle(raw(value, offset=1), harness.store)
    [letter] = harness.sent.dead_letters()
    assert letter["reason"] == "oversize"
    assert letter["original_truncated"] is True
    assert letter["original_bytes"] == len(value)
    assert base64.b64decode(letter["original"]) == value[:DLQ_MAX_ORIGINAL_BYTES]


class ExplodingScorer(MentionScorer):
    def score(self, mention: Mention, *, only_if_matched: bool = False) -> Scored | None:
        if "explode" in mention.text:
            raise RuntimeError("boom")
        return super().score(mention, only_if_matched=only_if_matched)


async def test_scoring_error_dead_letters_one_mention_only(harness: Harness) -> None:
    processor = new_processor(harness.metrics, harness.sent, ExplodingScorer(BRANDS))
    value = batch(mention("1", EN_ACME), mention("2", "acme will explode"), mention("3", EN_ACME))
    await processor.handle(raw(value, offset=2), harness.store)
    assert [r.mention.id for _, r in harness.sent.scored()] == ["rss:1", "rss:3"]
    [letter] = harness.sent.dead_letters()
    assert letter["reason"] == "processing_error"
    assert "RuntimeError: boom" in letter["detail"]
    assert orjson.loads(base64.b64decode(letter["original"]))["id"] == "rss:2"
    assert harness.sample("brandmon_dlq_total", reason="processing_error") == 1


async def test_unknown_source_is_labelled_other(harness: Harness) -> None:
    value = batch(
        mention("1", EN_ACME, id="newsite:1", source="newsite"),
        mention("2", NL_ACME, id="mastodon:2", source="mastodon"),
    )
    await harness.processor.handle(raw(value), harness.store)
    label = label_for(vader(EN_ACME)["compound"])
    assert harness.mentions_total("acme", "other", label) == 1
    assert harness.mentions_total("acme", "newsite", label) == 0
    assert harness.mentions_total("acme", "mastodon", "none") == 1
    [first, _] = harness.sent.scored()
    assert first[1].mention.source == "newsite"  # the record keeps the real source
