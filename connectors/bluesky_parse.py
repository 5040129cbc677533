"""Jetstream v1 events to mentions and deletions, and the keyword pre-filter: pure functions.

Jetstream turns the AT Protocol firehose into one JSON object per websocket frame. Only commits to
`app.bsky.feed.post` matter here: `create` is a new post, `update` an edit (same id, `edited_at`
set), `delete` a `Deletion`. Identity, account and every other collection are ignored.

* The id is `bluesky:<did>/<rkey>`, percent-encoded to printable ASCII (the contract's rule); the
  URL is the post's page on bsky.app. The author id is the DID: Jetstream carries no handles.
* `created_at` is the record's `createdAt`, as the author's client wrote it. When it cannot be read,
  or claims a moment after the network saw the post (`time_us`; a client's clock ahead), `time_us`
  is used: a post cannot be created after it was relayed, and a future date would sit in a spike
  bucket that never closes.
* `reply_to` is the parent post's mention id, so it joins with the ids on the raw topic.

The pre-filter keeps a post only if it can match a brand query, so it splits words exactly as the
stream does (`streams.query_text`): `#AcmeRecall` holds `acme`, `索尼` matches inside `我喜欢索尼的`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError

from brandmon.schemas import Author, Deletion, Mention
from streams.query_ast import words_of
from streams.query_text import post_text

SOURCE = "bluesky"
POST_COLLECTION = "app.bsky.feed.post"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_AT_POST = re.compile(r"^at://([^/]+)/app\.bsky\.feed\.post/([^/?#]+)$")


class MalformedEvent(ValueError):
    """A post event whose fields are missing or of the wrong type."""


def _printable(value: str) -> str:
    """Printable ASCII except `%` kept, everything else percent-encoded as UTF-8."""
    return "".join(c if "\x21" <= c <= "\x7e" and c != "%" else quote(c, safe="") for c in value)


def mention_id(did: str, rkey: str) -> str:
    return f"{SOURCE}:{_printable(did)}/{_printable(rkey)}"


def post_url(did: str, rkey: str) -> str:
    return f"https://bsky.app/profile/{quote(did, safe=':')}/post/{quote(rkey, safe=':')}"


def parent_id(uri: object) -> str | None:
    """The mention id of an `at://<did>/app.bsky.feed.post/<rkey>` URI; None for anything else."""
    found = _AT_POST.match(uri) if isinstance(uri, str) else None
    return mention_id(found.group(1), found.group(2)) if found else None


def from_time_us(time_us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=time_us)


def event_time(event: object) -> int | None:
    """The event's `time_us` (when Jetstream saw it); None if the frame has none."""
    value = event.get("time_us") if isinstance(event, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def dedup_key(event: Mapping[str, Any]) -> str:
    """`did/rkey/rev`: one operation on one record (a commit's `rev` is unique in its repo)."""
    commit = event["commit"]
    return f"{event['did']}/{commit['rkey']}/{commit.get('rev', '')}"


def _created_at(record: Mapping[str, Any], seen: datetime) -> datetime:
    value = record.get("createdAt")
    try:
        created = datetime.fromisoformat(value) if isinstance(value, str) else None
        if created is None:
            return seen
        created = created.replace(tzinfo=UTC) if created.tzinfo is None else created.astimezone(UTC)
    except (ValueError, OverflowError):
        return seen
    return min(created, seen)


def _language(record: Mapping[str, Any]) -> str | None:
    langs = record.get("langs")
    first = langs[0] if isinstance(langs, list) and langs else None
    return first if isinstance(first, str) and 0 < len(first) <= 35 else None


def _reply_to(record: Mapping[str, Any]) -> str | None:
    reply = record.get("reply")
    parent = reply.get("parent") if isinstance(reply, dict) else None
    return parent_id(parent.get("uri")) if isinstance(parent, dict) else None


def parse_event(event: object, fetched_at: datetime) -> Mention | Deletion | None:
    """The mention or deletion a Jetstream event carries; None for events that are not about posts.

    Raises `MalformedEvent` for a post event that cannot be read.
    """
    if not isinstance(event, dict) or event.get("kind") != "commit":
        return None
    commit, did, time_us = event.get("commit"), event.get("did"), event_time(event)
    if not isinstance(commit, dict):
        raise MalformedEvent("commit event without a commit object")
    if commit.get("collection") != POST_COLLECTION:
        return None
    operation, rkey = commit.get("operation"), commit.get("rkey")
    if not (isinstance(did, str) and did and isinstance(rkey, str) and rkey and time_us is not None):
        raise MalformedEvent("post event without did, rkey or time_us")
    try:
        if operation == "delete":
            return Deletion(id=mention_id(did, rkey), deleted_at=fetched_at)
        if operation not in ("create", "update"):
            return None
        record = commit.get("record")
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise MalformedEvent(f"post {operation} without a record text")
        seen = from_time_us(time_us)
        return Mention(
            id=mention_id(did, rkey),
            source=SOURCE,
            url=post_url(did, rkey),
            author=Author(id=did),
            text=record["text"],
            lang_declared=_language(record),
            created_at=_created_at(record, seen),
            fetched_at=fetched_at,
            reply_to=_reply_to(record),
            edited_at=seen if operation == "update" else None,
        )
    except (ValidationError, OverflowError) as error:
        raise MalformedEvent(f"post {operation}: {error}") from None


class KeywordFilter:
    """Case-insensitive whole-word match of any keyword (a word or a phrase; `recall*` is a prefix).

    No keywords: everything passes.
    """

    def __init__(self, keywords: Sequence[str]) -> None:
        keys = []
        for keyword in keywords:
            prefix = keyword.endswith("*")
            words = words_of(keyword.rstrip("*"))
            if not words:
                raise ValueError(f"keyword {keyword!r} has no letters or digits")
            keys.append(re.escape(" " + " ".join(words) + ("" if prefix else " ")))
        self._pattern = re.compile("|".join(keys)) if keys else None

    def matches(self, text: str) -> bool:
        return self._pattern is None or self._pattern.search(post_text(text).canonical) is not None
