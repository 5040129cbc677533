"""The JSON Schema files in `schemas/` match the models, and real messages validate against them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from prometheus_client import CollectorRegistry

from brandmon.commands import schemas as schemas_command
from brandmon.config import BrandConfig
from brandmon.schemas import (
    DLQ_TOPIC,
    MAX_COUNT,
    RAW_TOPIC,
    SCORED_TOPIC,
    TOPIC_MODELS,
    Author,
    DeadLetter,
    DeadLetterOrigin,
    Engagement,
    Mention,
    ScoredMention,
    Sentiment,
    dumps,
    schema_filename,
)
from streams.metrics import StreamMetrics
from streams.processor import MentionProcessor, RawMessage
from streams.scoring import MentionScorer
from streams.windows import MemoryWindowStore

REPO = Path(__file__).resolve().parents[1]
SCHEMA_DIR = REPO / "schemas"


BRANDS = [
    BrandConfig(id="acme", name="acme", aliases=["acme", "#acme"]),
    BrandConfig(id="globex", name="globex", aliases=["globex"]),
]


def validator(topic: str) -> Draft202012Validator:
    path = SCHEMA_DIR / schema_filename(topic)
    assert path.is_file(), f"{path} is missing: run `brandmon schemas --write`"
    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def errors(topic: str, document: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator(topic).iter_errors(document)]


def mention(native_id: str, text: str, **overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "id": f"rss:{native_id}",
        "source": "rss",
        "url": "https://example.com/1",
        "author": {"id": "42", "handle": "@someone", "followers": 10},
        "text": text,
        "lang_declared": "en-GB",
        "created_at": "2024-05-01T14:00:10+02:00",
        "fetched_at": "2024-05-01T12:00:20Z",
        "reply_to": "rss:0",
        "engagement": {"likes": 3, "reshares": 0, "replies": None},
    }
    value.update(overrides)
    return value


async def produced(*values: bytes | None) -> list[tuple[str, bytes | None, bytes]]:
    sent: list[tuple[str, bytes | None, bytes]] = []

    async def send(records: list[tuple[str, bytes | None, bytes]]) -> None:
        sent.extend(records)

    processor = MentionProcessor(
        MentionScorer(BRANDS),
        StreamMetrics([b.id for b in BRANDS], CollectorRegistry()),
        send,
        window_seconds=60,
        dedup_ttl_seconds=60,
        dedup_max_ids=1000,
    )
    store = MemoryWindowStore()
    for offset, value in enumerate(values):
        await processor.handle(RawMessage(RAW_TOPIC, 0, offset, value), store)
    return sent


def test_schema_files_are_up_to_date() -> None:
    """Fails when `schemas/` is missing or stale: run `brandmon schemas --write` and commit."""
    result = CliRunner().invoke(schemas_command, ["--dir", str(SCHEMA_DIR)])
    assert result.exit_code == 0, result.output
    assert f"{len(TOPIC_MODELS)} schemas up to date" in result.output
    assert sorted(p.name for p in SCHEMA_DIR.glob("*.json")) == sorted(
        schema_filename(topic) for topic in TOPIC_MODELS
    )
    for topic in TOPIC_MODELS:
        schema = json.loads((SCHEMA_DIR / schema_filename(topic)).read_text())
        assert schema["title"] == topic
        assert schema["$id"] == f"https://brandmon.dev/schemas/{topic}.json"


def test_schemas_command_detects_a_stale_or_missing_dir(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(schemas_command, ["--dir", str(tmp_path / "nowhere")])
    assert missing.exit_code != 0
    assert "out of date" in missing.output

    written = runner.invoke(schemas_command, ["--dir", str(tmp_path), "--write"])
    assert written.exit_code == 0, written.output
    assert runner.invoke(schemas_command, ["--dir", str(tmp_path)]).exit_code == 0

    stale = tmp_path / schema_filename(SCORED_TOPIC)
    stale.write_text(stale.read_text().replace('"brand"', '"brand_id"'))
    result = runner.invoke(schemas_command, ["--dir", str(tmp_path)])
    assert result.exit_code != 0
    assert schema_filename(SCORED_TOPIC) in result.output


async def test_processor_output_validates_against_the_schema_files() -> None:
    raw = orjson.dumps({"mentions": [mention("1", "I love #acme and globex!"), mention("2", "acme", id="x")]})
    sent = await produced(
        raw,
        orjson.dumps(mention("3", "Ik vind Acme niet goed, maar de prijs is in orde.", lang_declared="nl")),
        b"{broken",
        None,
        b"x" * (600 * 1024),
    )
    scored = [orjson.loads(v) for t, _, v in sent if t == SCORED_TOPIC]
    letters = [orjson.loads(v) for t, _, v in sent if t == DLQ_TOPIC]
    assert len(scored) == 3  # acme + globex for rss:1, acme for rss:3
    assert [d["reason"] for d in letters] == ["invalid_id", "invalid_json", "invalid_json", "oversize"]
    assert any(d["sentiment"] is None for d in scored)
    assert any(d["sentiment"] is not None for d in scored)
    assert letters[-1]["original_truncated"] is True
    for document in scored:
        assert errors(SCORED_TOPIC, document) == []
    for document in letters:
        assert errors(DLQ_TOPIC, document) == []


def test_raw_batch_validates_against_the_schema_file() -> None:
    assert errors(RAW_TOPIC, {"mentions": [mention("1", "acme")]}) == []
    assert errors(RAW_TOPIC, {"mentions": []}) != []
    assert errors(RAW_TOPIC, {"mentions": [mention("1", "acme", id="rss:a b")]}) != []


@pytest.mark.parametrize(
    ("topic", "document"),
    [
        (SCORED_TOPIC, {"brand": "acme"}),
        (DLQ_TOPIC, {"reason": "bored", "detail": "", "origin": {}, "original": "", "original_bytes": 0}),
    ],
)
def test_schema_files_reject_invalid_documents(topic: str, document: dict[str, Any]) -> None:
    assert errors(topic, document) != []


INDIA = timezone(timedelta(hours=5, minutes=30))
SAFE_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=60)
"""Lone surrogates cannot reach a model: JSON decoding and the connectors refuse them."""
TIMES = st.datetimes(
    min_value=datetime(1971, 1, 1),
    max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from([UTC, INDIA]),
)


@settings(max_examples=300, deadline=None)
@given(
    text=SAFE_TEXT,
    handle=st.none() | SAFE_TEXT,
    likes=st.none() | st.integers(0, MAX_COUNT),
    created=TIMES,
    compound=st.floats(-1, 1),
    terms=st.lists(SAFE_TEXT, max_size=3),
)
def test_dumps_writes_the_bytes_orjson_wrote_from_the_model_dump(
    text: str, handle: str | None, likes: int | None, created: datetime, compound: float, terms: list[str]
) -> None:
    """Downstream consumers saw orjson's bytes before `dumps` used pydantic's serialiser."""
    mention = Mention(
        id="bluesky:1", source="bluesky", text=text, author=Author(handle=handle),
        engagement=Engagement(likes=likes), created_at=created, fetched_at=created,
    )  # fmt: skip
    sentiment = Sentiment(
        compound=compound, pos=0.0, neu=1.0, neg=0.0, label="neutral", model="m", model_version="1"
    )
    record = ScoredMention(
        mention=mention, brand="acme", matched_terms=terms, lang="en", sentiment=sentiment, scored_at=created
    )
    letter = DeadLetter(
        reason="invalid_json", detail=text, origin=DeadLetterOrigin(topic="t", partition=0, offset=1),
        original="", original_bytes=0, dead_lettered_at=created,
    )  # fmt: skip
    for model in (record, letter):
        assert dumps(model) == orjson.dumps(model.model_dump(mode="python"), option=orjson.OPT_UTC_Z)
