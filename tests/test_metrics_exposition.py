"""The /metrics exposition: bounded label values only, and valid for `promtool check metrics`."""

from __future__ import annotations

import asyncio
import platform
import shutil
import subprocess
from typing import Any, get_args

import orjson
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from brandmon import __version__
from brandmon.config import BrandConfig
from brandmon.schemas import RAW_TOPIC, DeadLetterReason
from streams.metrics import KNOWN_SOURCES, SENTIMENT_LABELS, StreamMetrics
from streams.processor import MentionProcessor, RawMessage
from streams.scoring import MentionScorer
from streams.windows import MemoryWindowStore

PARTITIONS = (0, 1, 3)
HOSTILE = 'evil"} 1\n# injected'


BRANDS = [
    BrandConfig(id="acme", name="acme", aliases=["acme", "#acme", "acme corp"]),
    BrandConfig(id="globex", name="globex", aliases=["globex", HOSTILE]),
]


async def discard(records: list[tuple[str, bytes | None, bytes]]) -> None:
    return None


def mention(native_id: str, text: str, source: str = "rss", **overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "id": f"{source}:{native_id}",
        "source": source,
        "text": text,
        "created_at": "2024-05-01T12:00:10Z",
        "fetched_at": "2024-05-01T12:00:20Z",
        "author": {"id": "attacker-id-123", "handle": "@attacker_handle", "followers": 7},
    }
    value.update(overrides)
    return value


def raw_values(prefix: str) -> list[bytes | None]:
    """A few messages of every kind; ids are unique per prefix, so only the repeat is a duplicate."""
    return [
        orjson.dumps(
            {
                "mentions": [
                    mention(f"{prefix}1", "I love Acme Corp, best anvils ever!"),
                    mention(f"{prefix}2", "Globex is terrible, worst service", source="weirdsource"),
                    mention(f"{prefix}3", "Acme ist nicht gut und der Preis ist zu hoch", source="mastodon"),
                    mention(f"{prefix}4", f"acme and {HOSTILE}", source="zz-unknown_src", lang_declared="en"),
                    mention(f"{prefix}5", "nothing here at all", source="bluesky"),
                ]
            }
        ),
        orjson.dumps(mention(f"{prefix}1", "I love Acme Corp, best anvils ever!")),  # a duplicate
        b"{not json",
        b'{"id": "\xff"}',
        orjson.dumps(mention(f"{prefix}bad id", "acme")),
        orjson.dumps({"mentions": [mention(f"{prefix}6", "acme is fine"), 5]}),
        None,
    ]


@pytest.fixture(scope="module")
def exposition() -> str:
    registry = CollectorRegistry()
    metrics = StreamMetrics([b.id for b in BRANDS], registry)
    processor = MentionProcessor(
        MentionScorer(BRANDS), metrics, discard, window_seconds=60, dedup_ttl_seconds=60, dedup_max_ids=1000
    )
    store = MemoryWindowStore()

    async def run() -> None:
        for partition in PARTITIONS:
            for offset, value in enumerate(raw_values(f"p{partition}-")):
                await processor.handle(RawMessage(RAW_TOPIC, partition, offset, value), store)

    asyncio.run(run())
    return generate_latest(registry).decode()


def test_only_bounded_label_values(exposition: str) -> None:
    allowed: dict[str, set[str]] = {
        "brand": {b.id for b in BRANDS},
        "source": set(KNOWN_SOURCES) | {"other"},
        "sentiment": set(SENTIMENT_LABELS),
        "reason": set(get_args(DeadLetterReason)),
        "partition": {str(p) for p in PARTITIONS},
        "version": {__version__},
        "python": {platform.python_version()},
    }
    seen: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(exposition):
        assert family.name.startswith("brandmon_"), family.name
        for sample in family.samples:
            for name, value in sample.labels.items():
                assert name in allowed, f"unexpected label {name}={value!r} on {sample.name}"
                assert value in allowed[name], f"unexpected value {name}={value!r} on {sample.name}"
                seen.setdefault(name, set()).add(value)
    # the messages above really exercised the labels
    assert seen["brand"] == {"acme", "globex"}
    assert {"rss", "mastodon", "other"} <= seen["source"]
    assert "bluesky" not in seen["source"]  # matched no brand: never counted
    assert seen["partition"] == {"0", "1", "3"}
    assert {"invalid_json", "invalid_utf8", "invalid_id", "not_an_object"} <= seen["reason"]


def test_no_text_ids_or_authors_leak(exposition: str) -> None:
    for leaked in ("weirdsource", "zz-unknown_src", "attacker", "anvils", "acme corp", "evil", "injected"):
        assert leaked not in exposition


def test_counts_in_the_exposition(exposition: str) -> None:
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }
    n = len(PARTITIONS)
    assert samples["brandmon_duplicates_total", ()] == n
    assert samples["brandmon_dlq_total", (("reason", "invalid_json"),)] == 2 * n  # `{not json` and None
    assert samples["brandmon_dlq_total", (("reason", "not_an_object"),)] == n


def test_promtool_check_metrics(exposition: str) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not on PATH (CI installs it); the exposition lint check did not run")
    result = subprocess.run(
        [promtool, "check", "metrics"],
        input=exposition.encode(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.decode() + result.stderr.decode() == ""
    assert result.returncode == 0
