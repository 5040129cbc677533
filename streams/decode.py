"""Raw bytes in, validated mentions out; everything else becomes a reason for the dead-letter topic.

The stream decodes values itself (the topic's value type is raw bytes): a poison message must never
reach Faust's deserializer, which would crash the agent and stall its partition for seconds.
One bad mention inside a batch is dead-lettered alone; its neighbours go on.

A batch cannot make the worker stall or flood the dead-letter topic: more items than any batch
within `MAX_MESSAGE_BYTES` can hold is garbage and dead-lettered whole, unread, and past the first
`MAX_REJECTED_ITEMS` bad items of a batch the rest go as one dead letter (the whole message, the
index of the first of them). A 180 KB list of 60,000 `{}` took the worker seconds and made 60,000
dead letters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

from brandmon.schemas import MAX_MESSAGE_BYTES, DeadLetterReason, Deletion, Mention

MAX_BATCH_ITEMS = 10_000
"""Mentions plus deletions in one batch, at most: a minimal mention takes about 105 bytes and a
deletion about 50, so no valid batch within `MAX_MESSAGE_BYTES` comes near."""
MAX_REJECTED_ITEMS = 100
"""Bad items of one batch dead-lettered one by one; the rest are one dead letter together."""


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: DeadLetterReason
    detail: str
    original: bytes
    index: int | None = None


@dataclass(frozen=True, slots=True)
class Decoded:
    mentions: list[Mention]
    rejected: list[Rejected]
    deletions: tuple[Deletion, ...] = ()


def _validation_reason(error: ValidationError) -> DeadLetterReason:
    problems = error.errors(include_url=False)
    if any(p["type"] == "missing" for p in problems):
        return "missing_field"
    if any(p["loc"][:1] == ("id",) for p in problems):
        return "invalid_id"
    return "invalid_field"


def _describe(error: ValidationError) -> str:
    parts = []
    for problem in error.errors(include_url=False)[:3]:
        location = ".".join(str(part) for part in problem["loc"]) or "value"
        parts.append(f"{location}: {problem['msg']}")
    return "; ".join(parts)


def _validate(item: Any, original: bytes, index: int | None) -> Mention | Rejected:
    if not isinstance(item, dict):
        return Rejected(
            "not_an_object", f"expected a JSON object, got {type(item).__name__}", original, index
        )
    try:
        return Mention.model_validate(item)
    except ValidationError as error:
        return Rejected(_validation_reason(error), _describe(error), original, index)
    except OverflowError as error:  # e.g. 0001-01-01T00:00+01:00 has no UTC equivalent (schemas._to_utc)
        return Rejected("invalid_field", f"datetime out of range in UTC: {error}", original, index)


def decode_raw(value: bytes | None) -> Decoded:
    """Decode one `brandmon.mentions.raw.v1` value: a `{"mentions": [...]}` batch or one mention."""
    original = value or b""
    if len(original) > MAX_MESSAGE_BYTES:
        detail = f"{len(original)} bytes > limit {MAX_MESSAGE_BYTES}"
        return Decoded([], [Rejected("oversize", detail, original)])
    try:
        document = orjson.loads(original)
    except orjson.JSONDecodeError as error:
        reason: DeadLetterReason = "invalid_utf8" if "UTF-8" in str(error) else "invalid_json"
        return Decoded([], [Rejected(reason, str(error)[:500], original)])
    if isinstance(document, dict) and ("mentions" in document or "deletions" in document):
        return _decode_batch(document, original)
    result = _validate(document, original, None)
    if isinstance(result, Mention):
        return Decoded([result], [])
    return Decoded([], [result])


def _decode_batch(document: dict[str, Any], original: bytes) -> Decoded:
    items, deleted = document.get("mentions", []), document.get("deletions", [])
    if not isinstance(items, list) or not isinstance(deleted, list) or not (items or deleted):
        detail = "mentions, deletions: expected lists, not both empty"
        return Decoded([], [Rejected("invalid_field", detail, original)])
    if len(items) + len(deleted) > MAX_BATCH_ITEMS:
        detail = f"{len(items)} mentions and {len(deleted)} deletions > limit {MAX_BATCH_ITEMS} items"
        return Decoded([], [Rejected("invalid_field", detail, original)])
    mentions: list[Mention] = []
    rejected = _RejectedItems(original)
    for index, item in enumerate(items):
        result = _validate(item, b"", index)
        if isinstance(result, Mention):
            mentions.append(result)
        else:
            rejected.add(result.reason, result.detail, item, index)
    deletions: list[Deletion] = []
    for item in deleted:
        try:
            deletions.append(Deletion.model_validate(item))
        except (ValidationError, OverflowError) as error:
            rejected.add("invalid_field", f"deletion: {error}"[:500], item, None)
    return Decoded(mentions, rejected.done(), tuple(deletions))


class _RejectedItems:
    """The bad items of one batch: each alone up to `MAX_REJECTED_ITEMS`, then one for the rest."""

    def __init__(self, original: bytes) -> None:
        self.original = original
        self.items: list[Rejected] = []
        self.more = 0
        self.first_more: Rejected | None = None

    def add(self, reason: DeadLetterReason, detail: str, item: Any, index: int | None) -> None:
        if len(self.items) < MAX_REJECTED_ITEMS:
            self.items.append(Rejected(reason, detail, _item_bytes(item, self.original), index))
            return
        if self.first_more is None:
            self.first_more = Rejected(reason, detail, self.original, index)
        self.more += 1

    def done(self) -> list[Rejected]:
        first = self.first_more
        if first is None:
            return self.items
        where = f"from index {first.index}" if first.index is not None else "among the deletions"
        detail = f"{self.more} more bad items {where}, the first: {first.detail}"[:500]
        return [*self.items, Rejected(first.reason, detail, self.original, first.index)]


def _item_bytes(item: Any, original: bytes) -> bytes:
    """The item's own JSON, or the whole message when orjson cannot write it back: it reads 1,023
    levels of nesting but writes only 254, and a deep item must cost itself, not its batch."""
    try:
        return orjson.dumps(item)
    except orjson.JSONEncodeError:
        return original
