"""What a webhook request body may be: a raw-topic value, read with a hard size limit.

Kept apart from the server so the rules are plain functions: a body is one Mention or a
`{"mentions": [...], "deletions": [...]}` batch, validated whole by the contract models. The error
names the first problem by position and field (`mentions[3].id: ...`) and never echoes the input.
"""

from __future__ import annotations

import orjson
from aiohttp import StreamReader
from pydantic import ValidationError

from brandmon.schemas import MAX_MESSAGE_BYTES, Deletion, Mention, RawBatch
from connectors.publisher import encode_mention

BATCH_OVERHEAD = 16
"""Bytes a raw message adds around one encoded mention (`{"mentions":[...]}`)."""


class BodyError(ValueError):
    """The body cannot be published; `status` is 400 (invalid) or 413 (a mention too large)."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.status = status


def parse_body(body: bytes) -> tuple[list[Mention], list[Deletion]]:
    """The mentions and deletions of `body`, all of them or none (`BodyError`)."""
    try:
        document = orjson.loads(body)
    except (ValueError, OverflowError) as error:
        raise BodyError(f"invalid JSON: {error}") from None
    if not isinstance(document, dict):
        raise BodyError(
            'the body must be a JSON object: a mention or {"mentions": [...], "deletions": [...]}'
        )
    try:
        if "mentions" in document or "deletions" in document:
            batch = RawBatch.model_validate(document)
            mentions, deletions = list(batch.mentions), list(batch.deletions)
        else:
            mentions, deletions = [Mention.model_validate(document)], []
    except ValidationError as error:
        problems = error.errors(include_input=False, include_url=False)
        first = problems[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"]).lstrip(".")
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise BodyError(f"{where or 'body'}: {first['msg']}{more}") from None
    except OverflowError:  # 0001-01-01T00:00+01:00: valid ISO 8601, no UTC equivalent (schemas._to_utc)
        raise BodyError("a date has no equivalent in UTC (out of range)") from None
    for index, mention in enumerate(mentions):
        if len(encode_mention(mention)) + BATCH_OVERHEAD > MAX_MESSAGE_BYTES:
            raise BodyError(f"mentions[{index}] is larger than one raw message allows", status=413)
    return mentions, deletions


async def read_at_most(stream: StreamReader, limit: int) -> bytes | None:
    """The body, or None when it is longer than `limit` (never reads more than `limit + 1` bytes)."""
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = await stream.read(limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return None if size > limit else b"".join(chunks)
