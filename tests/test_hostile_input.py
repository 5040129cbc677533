"""Hostile raw values: the decoder and the worker's core turn every input into scored records or dead
letters with a contract reason, never an exception, and no input value becomes a metric label or a
table key unvalidated.

The strategies here are shared by `test_hostile_query.py`, `test_hostile_connectors.py` and the
fuzz run (`python -m bench.fuzz`), which drives the same checks with many more and larger examples.
Suite examples keep texts short (`SUITE_TEXT`): English sentiment is superlinear in text length
(see the report in `bench/fuzz.py`), which the fuzz run measures instead of a test asserting time.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, AnyStr, get_args

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from brandmon.config import BrandConfig
from brandmon.schemas import (
    DLQ_MAX_ORIGINAL_BYTES,
    DLQ_TOPIC,
    MAX_MESSAGE_BYTES,
    RAW_TOPIC,
    SCORED_TOPIC,
    DeadLetter,
    DeadLetterReason,
    Deletion,
    Mention,
    ScoredMention,
)
from streams.decode import MAX_BATCH_ITEMS, MAX_REJECTED_ITEMS, Decoded, decode_raw
from streams.language import DEFAULT_LANGUAGES, NEIGHBOURS, UNDETERMINED
from streams.metrics import KNOWN_SOURCES, SENTIMENT_LABELS, StreamMetrics
from streams.processor import MentionProcessor, RawMessage
from streams.scoring import MentionScorer
from streams.windows import MemoryWindowStore, brand_of

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")  # huge values
SUITE = settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
SUITE_TEXT = 600
REASONS = frozenset(get_args(DeadLetterReason))
BRANDS = [
    BrandConfig(id="acme", name="Acme", aliases=["acme", "#acme", "acme corp"]),
    BrandConfig(id="globex", name="Globex", aliases=["globex", "@globexinc"]),
]
BRAND_IDS = frozenset(b.id for b in BRANDS)
LANGUAGES = frozenset({*DEFAULT_LANGUAGES, *NEIGHBOURS, UNDETERMINED})
PARTITION = 3
WARM = datetime(2024, 5, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Target:
    """One fuzzed property: `check` raises AssertionError (or anything else) on a bug; `warm`
    loads what the check loads on first use (models, lexicons), before examples are timed."""

    name: str
    strategy: st.SearchStrategy[Any]
    check: Callable[[Any], None]
    warm: Callable[[], object] = lambda: None


# --- strings and JSON that try every trick -------------------------------------------------------

TRICKY_CHARS = (
    "\x00\x01\x07\x08\t\n\x0b\x0c\r\x1b\x7f\x85\xa0\xad"  # NUL, controls, ANSI escape, NEL, NBSP, soft hyphen
    "\u200b\u200c\u200d\u2060\ufeff\u180e"  # zero-width
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"  # bidi
    "\u2028\u2029\u3000\ufffd\ufffe\uffff\U0010ffff\U000e0001"  # separators, non-characters, tags
    "\u0301\u0308\ufe0f\U0001f600\U0001f3fb\u2764\U0001f1e9\U0001f1f0"  # combining marks, emoji
    "İıßẞﬁ\u0130Å\u212b\uff21\U0001d400"  # case and NFKC traps
    "\"\\/'<>&#@:*()“”"  # the query and HTML syntax characters
)
WORDS = (
    "acme", "#acme", "#AcmeRecall", "Acme Corp", "ACME", "globex", "@GlobexInc", "love", "terrible", "not",
    "the", "is", "and", "this", "was", "der", "die", "ist", "nicht", "und", "og", "er", "det", "ikke", "jeg",
    "😀", "😡", "!!!", "https://acme.com/x?y", "www.globex.de",
)  # fmt: skip
"""Brand names, English, German and Danish function words (so language detection gets decided),
sentiment words and emoji, links."""


def _spliced(document: AnyStr, where: int, insert: AnyStr, cut: int) -> AnyStr:
    """`insert` at `where` (modulo the length), replacing `cut` characters or bytes."""
    where %= len(document) + 1
    return document[:where] + insert + document[where + cut :]


SENTENCES = (
    "I absolutely love {}, but the support was terrible and slow!!! 😡",
    "Ich finde {} nicht gut, aber der Preis ist in Ordnung und das ist schon was.",
    "Jeg synes ikke at {} er god, men prisen er i orden og det er fint.",
    "Ik vind {} niet goed, maar de prijs is in orde.",
)
posts = st.one_of(
    st.builds(
        lambda sentence, brand, junk, at: _spliced(sentence.format(brand), at, junk, 0),
        st.sampled_from(SENTENCES),
        st.sampled_from(WORDS[:7]),
        st.text(TRICKY_CHARS, max_size=4),
        st.integers(0, 200),
    ),
    st.lists(
        st.one_of(st.sampled_from(WORDS), st.sampled_from(WORDS), st.text(TRICKY_CHARS, max_size=3)),
        max_size=25,
    ).map(" ".join),
)
hostile_text = st.one_of(
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=80),
    st.text(alphabet=st.sampled_from(TRICKY_CHARS + "abc "), max_size=80),
    posts,
)
"""Any Unicode scalar value (no lone surrogates: they cannot be written as UTF-8 JSON), often
the ones that break things, and posts that mention a brand."""


def huge(unit: st.SearchStrategy[str], max_size: int) -> st.SearchStrategy[str]:
    """A string of about `max_size` characters built from a short unit, cheaply."""
    return st.builds(
        lambda u, n: (u * (n // max(len(u), 1) + 1))[:n], unit.filter(bool), st.integers(0, max_size)
    )


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    hostile_text,
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(hostile_text, children, max_size=5),
    max_leaves=25,
)


VALID_MOMENTS = ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00-23:59", "9999-12-31T23:59:59.999999Z"]
BAD_MOMENTS = [
    "0001-01-01T00:00:00+00:01",  # no UTC equivalent
    "9999-12-31T23:59:59.999999-00:01",
    "0000-01-01T00:00:00Z",
    "2024-02-30T00:00:00Z",
    "2024-05-01T12:00:00",  # naive
    "2024-05-01T24:00:00Z",
    "+275760-09-13T00:00:00Z",
    "1970-01-01T00:00:00\x00Z",
    "yesterday",
    "",
]


def moments() -> st.SearchStrategy[str]:
    """ISO 8601 with an offset, from year 1 to 9999."""
    offset = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(
        lambda m: "Z" if m == 0 else f"{'+' if m > 0 else '-'}{abs(m) // 60:02d}:{abs(m) % 60:02d}"
    )
    return st.one_of(
        st.builds(lambda d, o: d.isoformat() + o, st.datetimes(), offset), st.sampled_from(VALID_MOMENTS)
    )


def timestamps() -> st.SearchStrategy[Any]:
    """Moments far in the past and future, out of range, and everything that is not one."""
    numbers = st.one_of(st.integers(-(2**63), 2**64 - 1), st.floats(allow_nan=False, allow_infinity=False))
    return st.one_of(moments(), st.sampled_from(BAD_MOMENTS), numbers, hostile_text, json_values)


printable_ids = st.builds(
    "{}:{}".format,
    st.sampled_from(["rss", "mastodon", "webhook", "x_y-z"]),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40),
)
LANG_TAGS = ["en", "de-AT", "da_DK", "nl", "xx", "", "e\u200bn", "-", "en-" + "x" * 40]
SOURCES = [*sorted(KNOWN_SOURCES), "partner_x", "a" * 32]
"""Known source kinds and valid unknown ones: these must reach a metric as `other`."""


def mentions(max_text: int, *, plausible: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """Mention objects. Plausible ones have every required field right (hostile in content only);
    the others get wrong types, bad ids and bad moments in any field, and unknown keys."""

    def field(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return good if plausible else st.one_of(good, good, good, json_values)

    text = st.one_of(posts, hostile_text, huge(hostile_text, max_text))
    count = st.one_of(st.none(), st.integers(-5, 2**64 - 1))
    author = st.fixed_dictionaries(
        {}, optional={"id": hostile_text, "handle": hostile_text, "followers": count}
    )
    engagement = st.fixed_dictionaries({}, optional={"likes": count, "replies": count})
    fields = st.fixed_dictionaries(
        {
            "id": printable_ids if plausible else st.one_of(printable_ids, hostile_text, json_values),
            "source": field(st.sampled_from(SOURCES if plausible else [*SOURCES, "RSS", "a" * 33])),
            "text": field(text),
            "created_at": moments() if plausible else timestamps(),
            "fetched_at": field(st.just("2024-05-01T12:00:20Z")),
        },
        optional={
            "url": field(hostile_text),
            "author": field(author),
            "lang_declared": field(st.sampled_from(LANG_TAGS)),
            "engagement": field(engagement),
            "edited_at": moments() if plausible else timestamps(),
            "reply_to": field(hostile_text),
        },
    )
    if plausible:
        return fields
    extra = st.dictionaries(st.one_of(hostile_text, st.sampled_from(["id", "text", "mentions"])), json_values)
    return st.builds(  # unknown keys; a known one either kept or overwritten by any value
        lambda known, more, override: {**known, **more} if override else {**more, **known},
        fields,
        extra,
        st.booleans(),
    )


def any_mentions(max_text: int) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(mentions(max_text, plausible=True), mentions(max_text))


NOT_UTF8 = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\xef\xbb\xbf"]
"""A stray byte, a cut sequence, an encoded surrogate, beyond U+10FFFF, overlong, a byte order mark."""
NOT_JSON = [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"\\ud800", b",", b"}", b'"', b"\x00", b"//"]


def _with_key(document: dict[str, Any], key: str, value: bytes) -> bytes:
    """`document` as JSON with `"key": value` appended: a duplicated key, or a value orjson would
    not write itself (too deep)."""
    return orjson.dumps(document)[:-1] + b"," + orjson.dumps(key) + b":" + value + b"}"


SMALLEST = b'{"id":"a:b","source":"a","text":"","created_at":"2024-05-01T12:00:00Z",'
SMALLEST += b'"fetched_at":"2024-05-01T12:00:00Z"}'
"""About the smallest valid mention: no valid batch holds more than 2,500 of them."""
DELETION = b'{"id":"a:b","deleted_at":"2024-05-01T12:00:00Z"}'
WIDE_ITEMS = [b"{}", b"1", SMALLEST, DELETION]


def _wide(count: int, pattern: list[bytes], deletions: bool) -> bytes:
    """A batch of `count` mentions or deletions repeating `pattern` (bad items and small good ones)."""
    items = b",".join(pattern[i % len(pattern)] for i in range(count))
    return b'{"' + (b"deletions" if deletions else b"mentions") + b'": [' + items + b"]}"


def raw_values(max_text: int = SUITE_TEXT, max_items: int = 2_000) -> st.SearchStrategy[bytes]:
    """Raw-topic values: anything a producer could write."""
    good = any_mentions(max_text).map(orjson.dumps)
    deletion = st.fixed_dictionaries(
        {"id": st.one_of(printable_ids, json_values), "deleted_at": timestamps()}
    )
    batches = st.fixed_dictionaries(
        {},
        optional={
            "mentions": st.one_of(
                st.lists(st.one_of(any_mentions(max_text), json_values), max_size=6), json_values
            ),
            "deletions": st.one_of(st.lists(deletion, max_size=3), json_values),
        },
    ).map(orjson.dumps)
    depth = st.one_of(st.integers(1, 1_100), st.integers(1, 100_000))  # orjson: 254 written, 1,023 read
    nested = st.one_of(
        depth.map(lambda n: b"[" * n + b"]" * n),
        depth.map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
        depth.map(lambda n: b'{"mentions": [' + b"[" * n + b"]" * n + b"]}"),
        st.builds(lambda m, n: _with_key(m, "deep", b"[" * n + b"]" * n), any_mentions(20), depth),
    )
    pattern = st.lists(st.sampled_from(WIDE_ITEMS), min_size=1, max_size=4)
    wide = st.builds(
        _wide, st.one_of(st.integers(0, max_items), st.just(MAX_BATCH_ITEMS + 1)), pattern, st.booleans()
    )
    oversize = st.builds(
        lambda m, n: orjson.dumps({**m, "text": "x" * n}),
        mentions(10, plausible=True),
        st.integers(MAX_MESSAGE_BYTES - 400, MAX_MESSAGE_BYTES + 400),
    )
    position = st.integers(0, 10_000)
    bad_utf8 = st.builds(_spliced, good, position, st.sampled_from(NOT_UTF8), st.just(0))
    broken_json = st.builds(_spliced, good, position, st.sampled_from(NOT_JSON), st.integers(0, 3))
    keys = st.sampled_from(["id", "source", "text", "created_at", "mentions"])
    duplicated = st.builds(
        lambda m, k, v: _with_key(m, k, orjson.dumps(v)), any_mentions(20), keys, json_values
    )
    return st.one_of(
        st.binary(max_size=300), good, good, batches, batches, nested, wide, oversize, bad_utf8, broken_json,
        duplicated, json_values.map(orjson.dumps), st.just(b""),
    )  # fmt: skip


# --- the decoder ---------------------------------------------------------------------------------


def _batch_items(value: bytes) -> tuple[list[Any], list[Any]] | None:
    """The mentions and deletions lists of a well-formed batch envelope, else None."""
    try:
        document = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if len(value) > MAX_MESSAGE_BYTES or not isinstance(document, dict):
        return None
    if "mentions" not in document and "deletions" not in document:
        return None
    items, deleted = document.get("mentions", []), document.get("deletions", [])
    if not isinstance(items, list) or not isinstance(deleted, list) or not (items or deleted):
        return None
    return items, deleted


def check_decode(value: bytes) -> None:
    decoded = decode_raw(value)
    for mention in decoded.mentions:
        assert Mention.model_validate_json(orjson.dumps(mention.model_dump(mode="json"))) == mention
    for rejected in decoded.rejected:
        assert rejected.reason in REASONS
        assert rejected.detail
    if len(value) > MAX_MESSAGE_BYTES:
        assert [(r.reason, r.original) for r in decoded.rejected] == [("oversize", value)]
        assert decoded.mentions == []
        return
    envelope = _batch_items(value)
    if envelope is None:  # one value: it is a mention or exactly one dead letter, with its bytes
        assert len(decoded.mentions) + len(decoded.rejected) == 1
        assert all(r.original == value and r.index is None for r in decoded.rejected)
        return
    items, deleted = envelope
    if len(items) + len(deleted) > MAX_BATCH_ITEMS:  # more than any real batch: refused whole
        assert [(r.reason, r.original) for r in decoded.rejected] == [("invalid_field", value)]
        assert decoded.mentions == []
        return
    check_batch(decoded, value, items, deleted)


def check_batch(decoded: Decoded, value: bytes, items: list[Any], deleted: list[Any]) -> None:
    """Every item is accounted for, in order: a good one decoded, a bad one dead-lettered alone with
    its own bytes, and past `MAX_REJECTED_ITEMS` bad ones, the rest as one dead letter."""
    bad_items = [i for i, item in enumerate(items) if not _valid(item)]
    bad_deletions = [d for d in deleted if not _valid_deletion(d)]
    bad: list[int | None] = [*bad_items, *(None for _ in bad_deletions)]
    assert len(decoded.mentions) == len(items) - len(bad_items)
    assert len(decoded.deletions) == len(deleted) - len(bad_deletions)
    alone, rest = decoded.rejected[:MAX_REJECTED_ITEMS], decoded.rejected[MAX_REJECTED_ITEMS:]
    assert [r.index for r in alone] == bad[:MAX_REJECTED_ITEMS]
    for rejected in alone:
        own = _encoded(items[rejected.index]) if rejected.index is not None else None
        assert rejected.original in ({own, value} if own else {*map(_encoded, deleted), value})
    if len(bad) <= MAX_REJECTED_ITEMS:
        assert rest == []
        return
    [together] = rest
    assert (together.index, together.original) == (bad[MAX_REJECTED_ITEMS], value)
    assert f"{len(bad) - MAX_REJECTED_ITEMS} more bad items" in together.detail


def _valid(item: Any) -> bool:
    """The contract's own answer, independent of the decoder's code path."""
    if not isinstance(item, dict):
        return False
    try:
        Mention.model_validate(item)
    except (ValidationError, OverflowError):
        return False
    return True


def _valid_deletion(item: Any) -> bool:
    try:
        Deletion.model_validate(item)
    except (ValidationError, OverflowError):
        return False
    return True


def _encoded(item: Any) -> bytes:
    try:
        return orjson.dumps(item)
    except orjson.JSONEncodeError:
        return b""


@SUITE
@given(raw_values())
@example(b"")
@example(b'{"mentions": [{}, ' + b"[" * 300 + b"]" * 300 + b"]}")  # orjson writes back only 254 levels
@example(b'{"deletions": [' + b"[" * 600 + b"]" * 600 + b"]}")
@example(b"[" * 100_000 + b"]" * 100_000)
def test_every_raw_value_decodes_to_mentions_or_dead_letters(value: bytes) -> None:
    check_decode(value)


# --- the worker's core: scored records, dead letters, metrics and table keys ---------------------


@cache
def shared_scorer() -> MentionScorer:
    """One scorer for all examples, its language models and lexicons loaded before the first (they
    load on first use, which takes a second: the fuzz run would see a stall that is not one)."""
    scorer = MentionScorer(BRANDS)
    for sentence in SENTENCES:
        text = sentence.format("acme")
        scorer.score(Mention(id="rss:warm", source="rss", text=text, created_at=WARM, fetched_at=WARM))
    return scorer


@dataclass
class Sent:
    records: list[tuple[str, bytes | None, bytes]]

    async def send(self, records: list[tuple[str, bytes | None, bytes]]) -> None:
        self.records.extend(records)


def bounded_labels(registry: CollectorRegistry) -> None:
    """Every label value of every series is from a bounded, validated set."""
    allowed: dict[str, frozenset[str]] = {
        "brand": BRAND_IDS,
        "source": KNOWN_SOURCES | {"other"},
        "sentiment": frozenset(SENTIMENT_LABELS),
        "reason": REASONS,
        "partition": frozenset({str(PARTITION)}),
    }
    for family in registry.collect():
        for sample in family.samples:
            for name, value in sample.labels.items():
                if family.name == "brandmon_build":
                    continue
                assert name in allowed, f"{family.name} has an unexpected label {name}={value!r}"
                assert value in allowed[name], f"{family.name}{{{name}={value!r}}} is not a bounded value"


def check_processor(value: bytes) -> None:
    registry = CollectorRegistry()
    metrics = StreamMetrics(BRAND_IDS, registry)
    sent, windows = Sent([]), MemoryWindowStore()
    processor = MentionProcessor(
        shared_scorer(), metrics, sent.send, window_seconds=60, dedup_ttl_seconds=60, dedup_max_ids=100
    )
    asyncio.run(processor.handle(RawMessage(RAW_TOPIC, PARTITION, 7, value), windows))
    decoded = decode_raw(value)
    scored = [(k, v) for t, k, v in sent.records if t == SCORED_TOPIC]
    letters = [DeadLetter.model_validate_json(v) for t, k, v in sent.records if t == DLQ_TOPIC]
    assert {t for t, _, _ in sent.records} <= {SCORED_TOPIC, DLQ_TOPIC}
    assert [(letter.reason, letter.origin.index) for letter in letters] == [
        (r.reason, r.index) for r in decoded.rejected
    ], "the worker's dead letters are the decoder's, and no processing_error"
    for letter in letters:
        original = base64.b64decode(letter.original, validate=True)
        assert len(original) <= DLQ_MAX_ORIGINAL_BYTES
        assert letter.original_truncated == (letter.original_bytes > len(original))
        assert (letter.origin.topic, letter.origin.partition, letter.origin.offset) == (
            RAW_TOPIC,
            PARTITION,
            7,
        )
        if _batch_items(value) is None:
            assert original == value[:DLQ_MAX_ORIGINAL_BYTES]
    for key, record_bytes in scored:
        record = ScoredMention.model_validate_json(record_bytes)
        assert key == record.brand.encode()
        assert record.brand in BRAND_IDS
        assert record.lang in LANGUAGES
        assert record.matched_terms
        assert record.mention in decoded.mentions
    assert {brand_of(key) for key, _ in windows.values} <= BRAND_IDS
    assert {key.rpartition("@")[2] for key, _ in windows.values} <= {str(PARTITION)}
    bounded_labels(registry)


@SUITE
@given(raw_values())
@example(b'{"mentions": [{}, ' + b"[" * 300 + b"]" * 300 + b"]}")
@example(orjson.dumps({"id": "rss:1", "source": "evil\u202esource", "text": "acme", "created_at": "x"}))
@example(
    orjson.dumps(
        {
            "mentions": [
                {
                    "id": f"{source}:{n}",
                    "source": source,
                    "text": "I love #acme and @GlobexInc \u202e\x00\U0001f600",
                    "created_at": created,
                    "fetched_at": "2024-05-01T12:00:20Z",
                    "lang_declared": "x\u200b",
                }
                for n, (source, created) in enumerate(
                    [("rss", "0001-01-01T00:00:00Z"), ("partner_x", "9999-12-31T23:59:59Z"), ("webhook", 0)]
                )
            ]
        }
    )
)
def test_the_worker_core_never_raises_and_labels_stay_bounded(value: bytes) -> None:
    check_processor(value)


def fuzz_targets() -> list[Target]:
    return [
        Target("decoder", raw_values(MAX_MESSAGE_BYTES, 60_000), check_decode),
        Target("worker core", raw_values(MAX_MESSAGE_BYTES, 60_000), check_processor, shared_scorer),
    ]
