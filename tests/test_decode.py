"""`decode_raw`: every way a raw value can be bad ends as one dead-letter reason, never an exception."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from brandmon.schemas import MAX_MESSAGE_BYTES
from streams.decode import MAX_BATCH_ITEMS, MAX_REJECTED_ITEMS, Decoded, decode_raw


def mention(**overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "id": "rss:https://example.com/post/1",
        "source": "rss",
        "text": "Acme shipped a new anvil",
        "created_at": "2024-05-01T12:00:00Z",
        "fetched_at": "2024-05-01T12:00:05Z",
    }
    value.update(overrides)
    return value


def without(field: str) -> dict[str, Any]:
    value = mention()
    del value[field]
    return value


def only_rejection(decoded: Decoded) -> tuple[str, str, bytes, int | None]:
    assert decoded.mentions == []
    assert len(decoded.rejected) == 1
    rejected = decoded.rejected[0]
    assert rejected.detail
    return rejected.reason, rejected.detail, rejected.original, rejected.index


def test_single_bare_mention_is_accepted() -> None:
    decoded = decode_raw(orjson.dumps(mention()))
    assert decoded.rejected == []
    [accepted] = decoded.mentions
    assert accepted.id == "rss:https://example.com/post/1"
    assert accepted.source == "rss"
    assert accepted.text == "Acme shipped a new anvil"
    assert accepted.created_at == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_batch_of_good_mentions_is_accepted_in_order() -> None:
    items = [mention(id=f"rss:{i}") for i in range(3)]
    decoded = decode_raw(orjson.dumps({"mentions": items}))
    assert decoded.rejected == []
    assert [m.id for m in decoded.mentions] == ["rss:0", "rss:1", "rss:2"]


def test_created_at_in_another_timezone_is_converted_to_utc() -> None:
    decoded = decode_raw(
        orjson.dumps(mention(created_at="2024-05-01T14:30:00+02:00", fetched_at="2024-05-01T07:31:00-05:00"))
    )
    [accepted] = decoded.mentions
    assert accepted.created_at == datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    assert accepted.created_at.utcoffset() is not None
    assert accepted.created_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert accepted.fetched_at == datetime(2024, 5, 1, 12, 31, tzinfo=UTC)
    assert accepted.fetched_at.tzinfo == UTC


def test_oversize_is_rejected_unread() -> None:
    value = orjson.dumps(mention(text="x" * MAX_MESSAGE_BYTES))
    assert len(value) > MAX_MESSAGE_BYTES
    reason, detail, original, index = only_rejection(decode_raw(value))
    assert reason == "oversize"
    assert str(len(value)) in detail
    assert original == value
    assert index is None


def test_exactly_at_the_limit_is_not_oversize() -> None:
    base = orjson.dumps(mention(text=""))
    value = orjson.dumps(mention(text="x" * (MAX_MESSAGE_BYTES - len(base))))
    assert len(value) == MAX_MESSAGE_BYTES
    decoded = decode_raw(value)
    assert decoded.rejected == []
    assert len(decoded.mentions) == 1


@pytest.mark.parametrize(
    "value",
    [
        b'{"id": "\xff"}',
        b'{"id": "rss:1", "text": "caf\xc3"}',
        b'{"text": "\xed\xa0\x80"}',  # an encoded UTF-16 surrogate is not UTF-8
        b"\xef\xbb\xbf" + orjson.dumps(mention()),  # a byte order mark
    ],
)
def test_invalid_utf8(value: bytes) -> None:
    reason, _, original, index = only_rejection(decode_raw(value))
    assert reason == "invalid_utf8"
    assert original == value
    assert index is None


@pytest.mark.parametrize(
    "value",
    [b'{"id": ', b"{'id': 'rss:1'}", b"not json", b'{"a": 1} {"b": 2}', b"NaN", b"1e400", b'"\\ud800"'],
)
def test_invalid_json(value: bytes) -> None:
    reason, _, original, _ = only_rejection(decode_raw(value))
    assert reason == "invalid_json"
    assert original == value


@pytest.mark.parametrize("value", [None, b""])
def test_none_or_empty_value(value: bytes | None) -> None:
    reason, _, original, index = only_rejection(decode_raw(value))
    assert reason == "invalid_json"
    assert original == b""
    assert index is None


@pytest.mark.parametrize(
    "value",
    [
        b"[" * 5000 + b"]" * 5000,
        b'{"a":' * 5000 + b"1" + b"}" * 5000,
        b'{"mentions": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    ],
)
def test_deep_nesting_is_invalid_json_not_a_crash(value: bytes) -> None:
    reason, _, original, _ = only_rejection(decode_raw(value))
    assert reason == "invalid_json"
    assert original == value


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (b"[1, 2]", "list"),
        (orjson.dumps([mention()]), "list"),
        (b"42", "int"),
        (b"4.2", "float"),
        (b'"rss:1"', "str"),
        (b"true", "bool"),
        (b"null", "NoneType"),
    ],
)
def test_not_an_object(value: bytes, kind: str) -> None:
    reason, detail, original, index = only_rejection(decode_raw(value))
    assert reason == "not_an_object"
    assert kind in detail
    assert original == value
    assert index is None


@pytest.mark.parametrize("field", ["id", "source", "text", "created_at", "fetched_at"])
def test_missing_field(field: str) -> None:
    value = orjson.dumps(without(field))
    reason, detail, original, _ = only_rejection(decode_raw(value))
    assert reason == "missing_field"
    assert field in detail
    assert original == value


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"created_at": "2024-05-01T12:00:00"}, "created_at"),  # naive: no timezone
        ({"fetched_at": "2024-05-01 12:00"}, "fetched_at"),
        ({"created_at": "yesterday"}, "created_at"),
        ({"author": {"followers": -1}}, "author.followers"),
        ({"engagement": {"likes": -5}}, "engagement.likes"),
        ({"source": "RSS"}, "source"),
        ({"source": "a" * 33}, "source"),
        ({"text": 42}, "text"),
        ({"text": None}, "text"),
        ({"author": "someone"}, "author"),
        ({"lang_declared": "x" * 36}, "lang_declared"),
    ],
)
def test_invalid_field(overrides: dict[str, Any], field: str) -> None:
    value = orjson.dumps(mention(**overrides))
    reason, detail, original, _ = only_rejection(decode_raw(value))
    assert reason == "invalid_field"
    assert detail.startswith(f"{field}:")
    assert original == value


@pytest.mark.parametrize("created_at", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_datetime_out_of_range_in_utc_is_invalid_field_not_a_crash(created_at: str) -> None:
    """Valid ISO 8601 with an offset, but the UTC conversion leaves the datetime range."""
    bad = mention(id="rss:bad", created_at=created_at)
    value = orjson.dumps(bad)
    reason, _, original, _ = only_rejection(decode_raw(value))
    assert reason == "invalid_field"
    assert original == value
    batch = decode_raw(orjson.dumps({"mentions": [mention(id="rss:good"), bad]}))
    assert [m.id for m in batch.mentions] == ["rss:good"]
    assert [(r.reason, r.index) for r in batch.rejected] == [("invalid_field", 1)]


@pytest.mark.parametrize(
    "mention_id",
    [
        "rss:abc\x07def",  # control character
        "rss:abc def",  # space
        "rss:abc\u202edef",  # bidi override
        "rss:abc\u200bdef",  # zero-width space
        "rss:caf\u00e9",  # non-ASCII
        "abcdef",  # no `source:` prefix
        ":abcdef",  # empty source
        "rss:",  # empty native id
        "RSS:abc",  # upper-case source
        "rss:" + "a" * 513,  # too long
        "",
    ],
)
def test_invalid_id(mention_id: str) -> None:
    value = orjson.dumps(mention(id=mention_id))
    reason, detail, original, _ = only_rejection(decode_raw(value))
    assert reason == "invalid_id"
    assert detail.startswith("id:")
    assert original == value


@pytest.mark.parametrize("mention_id", [None, 42, ["rss:1"]])
def test_id_of_the_wrong_type_is_invalid_id(mention_id: Any) -> None:
    reason, _, _, _ = only_rejection(decode_raw(orjson.dumps(mention(id=mention_id))))
    assert reason == "invalid_id"


def test_valid_id_edge_cases_are_accepted() -> None:
    for mention_id in ["rss:" + "a" * 512, "a:!", "hackernews:~user/1?x=%20", "x_y-z:1:2:3"]:
        decoded = decode_raw(orjson.dumps(mention(id=mention_id)))
        assert decoded.rejected == [], mention_id
        assert decoded.mentions[0].id == mention_id


def test_batch_with_one_bad_item_keeps_the_good_ones() -> None:
    bad = mention(id="rss:bad id")
    items = [mention(id="rss:0"), mention(id="rss:1"), bad, mention(id="rss:3")]
    decoded = decode_raw(orjson.dumps({"mentions": items}))
    assert [m.id for m in decoded.mentions] == ["rss:0", "rss:1", "rss:3"]
    [rejected] = decoded.rejected
    assert rejected.reason == "invalid_id"
    assert rejected.index == 2
    assert orjson.loads(rejected.original) == bad  # its own bytes, not the whole batch
    assert b"rss:0" not in rejected.original


def test_batch_with_several_kinds_of_bad_items() -> None:
    items = [
        mention(id="rss:0"),
        42,
        without("text"),
        mention(id="rss:3", created_at="2024-05-01T12:00:00"),
        ["rss:4"],
        mention(id="rss:5"),
    ]
    decoded = decode_raw(orjson.dumps({"mentions": items}))
    assert [m.id for m in decoded.mentions] == ["rss:0", "rss:5"]
    assert [(r.reason, r.index) for r in decoded.rejected] == [
        ("not_an_object", 1),
        ("missing_field", 2),
        ("invalid_field", 3),
        ("not_an_object", 4),
    ]
    for rejected in decoded.rejected:
        assert rejected.index is not None
        assert orjson.loads(rejected.original) == items[rejected.index]


def test_batch_where_every_item_is_bad() -> None:
    decoded = decode_raw(orjson.dumps({"mentions": [1, 2]}))
    assert decoded.mentions == []
    assert [(r.reason, r.index, r.original) for r in decoded.rejected] == [
        ("not_an_object", 0, b"1"),
        ("not_an_object", 1, b"2"),
    ]


@pytest.mark.parametrize("mentions", [[], None, "rss:1", {"id": "rss:1"}, 5])
def test_batch_whose_mentions_is_not_a_non_empty_list(mentions: Any) -> None:
    value = orjson.dumps({"mentions": mentions})
    reason, detail, original, index = only_rejection(decode_raw(value))
    assert reason == "invalid_field"
    assert "mentions" in detail
    assert original == value
    assert index is None


def test_unknown_fields_are_ignored() -> None:
    decoded = decode_raw(orjson.dumps({"mentions": [mention(extra="x")], "producer": "third-party"}))
    assert decoded.rejected == []
    assert len(decoded.mentions) == 1


@pytest.mark.parametrize("depth", [255, 256, 600, 1021])
def test_a_deeply_nested_batch_item_costs_only_itself(depth: int) -> None:
    """orjson reads 1,023 levels but writes only 254: the rejected item's bytes used to raise."""
    deep = b"[" * depth + b"]" * depth
    value = b'{"mentions": [' + orjson.dumps(mention(id="rss:good")) + b", " + deep + b"]}"
    decoded = decode_raw(value)
    assert [m.id for m in decoded.mentions] == ["rss:good"]
    [rejected] = decoded.rejected
    assert (rejected.reason, rejected.index) == ("not_an_object", 1)
    assert deep in rejected.original


def test_a_deeply_nested_deletion_is_dead_lettered_not_raised() -> None:
    deep = b"[" * 400 + b"]" * 400
    decoded = decode_raw(b'{"deletions": [' + deep + b"]}")
    [rejected] = decoded.rejected
    assert rejected.reason == "invalid_field"
    assert deep in rejected.original


def test_a_batch_of_many_bad_items_is_a_hundred_dead_letters_and_one_for_the_rest() -> None:
    """60,000 `{}` (180 KB) made 60,000 dead letters and took the worker seconds."""
    good = orjson.dumps(mention(id="rss:last"))
    value = b'{"mentions": [' + b"{}," * 5_000 + good + b"]}"
    decoded = decode_raw(value)
    assert [m.id for m in decoded.mentions] == ["rss:last"]
    assert len(decoded.rejected) == MAX_REJECTED_ITEMS + 1
    assert [r.index for r in decoded.rejected[:-1]] == list(range(MAX_REJECTED_ITEMS))
    assert all(r.original == b"{}" for r in decoded.rejected[:-1])
    rest = decoded.rejected[-1]
    assert (rest.reason, rest.index, rest.original) == ("missing_field", MAX_REJECTED_ITEMS, value)
    assert rest.detail.startswith(
        f"{5_000 - MAX_REJECTED_ITEMS} more bad items from index {MAX_REJECTED_ITEMS}"
    )


def test_more_items_than_any_batch_can_hold_is_refused_unread() -> None:
    smallest = orjson.dumps(mention(id="a:b", source="a", text=""))
    assert len(smallest) * MAX_BATCH_ITEMS > MAX_MESSAGE_BYTES  # no valid batch comes near the limit
    value = b'{"mentions": [' + b",".join([b"1"] * (MAX_BATCH_ITEMS - 10) + [smallest] * 11) + b"]}"
    reason, detail, original, index = only_rejection(decode_raw(value))
    assert (reason, original, index) == ("invalid_field", value, None)
    assert f"limit {MAX_BATCH_ITEMS} items" in detail
