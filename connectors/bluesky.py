"""Bluesky posts, live, from a Jetstream websocket (`kind: bluesky`); free, no account needed.

Jetstream serves the AT Protocol firehose as JSON (see `connectors.bluesky_parse` for what an
event becomes). It stamps each event with `time_us` and replays from `?cursor=<time_us>`, but the
stamps are not in wire order (the recorded capture steps back by up to 32 ms). So the cursor is
the newest `time_us` among the events already in acknowledged pages, a resume asks for `rewind_seconds`
before it, and the cursor also carries the keys (`did/rkey/rev`) of the events published in that
margin: whatever the rewind sends again is dropped, whatever arrived late is published. No gap,
no duplicate, as long as no event arrives more than `rewind_seconds` behind a newer one.

Options: `endpoint` (a Jetstream `/subscribe` URL), `keywords` (publish only posts containing one
of them as a word or phrase, the stream's word rules; `recall*` is a prefix; empty: everything;
edits and deletions always pass, as the post they change may have matched), `rewind_seconds` (5),
`page_max` (500 mentions) and `page_seconds` (2: a page, and a saved cursor, at least that often
while events arrive), `stall_seconds` (60: reconnect when no frame came for that long).
A dropped socket reconnects after the context's retry backoff; a frame that is not JSON or a post
event that cannot be read counts a `parse` error and is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from brandmon.schemas import Deletion, Mention
from connectors.bluesky_parse import KeywordFilter, MalformedEvent, dedup_key, event_time, parse_event
from connectors.http import RetriesExhausted
from connectors.source import Cursor, Page, Source

log = logging.getLogger(__name__)
DEFAULT_ENDPOINT = "wss://jetstream2.us-east.bsky.network/subscribe"
MAX_RECENT_KEYS = 20_000
"""Dedup memory bound: 5 s of every Bluesky post is a few hundred keys."""


@dataclass(frozen=True, slots=True)
class BlueskyOptions:
    endpoint: str = DEFAULT_ENDPOINT
    keywords: tuple[str, ...] = ()
    rewind_seconds: float = 5.0
    page_max: int = 500
    page_seconds: float = 2.0
    stall_seconds: float = 60.0

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> BlueskyOptions:
        if unknown := sorted(set(options) - set(cls.__dataclass_fields__)):
            raise ValueError(
                f"bluesky has no option {', '.join(unknown)} (known: {', '.join(cls.__dataclass_fields__)})"
            )
        keywords = options.get("keywords") or ()
        parsed = cls(
            endpoint=str(options.get("endpoint", DEFAULT_ENDPOINT)),
            keywords=(keywords,) if isinstance(keywords, str) else tuple(map(str, keywords)),
            rewind_seconds=float(options.get("rewind_seconds", 5.0)),
            page_max=int(options.get("page_max", 500)),
            page_seconds=float(options.get("page_seconds", 2.0)),
            stall_seconds=float(options.get("stall_seconds", 60.0)),
        )
        if urlsplit(parsed.endpoint).scheme not in ("ws", "wss"):
            raise ValueError(f"bluesky endpoint must be a ws:// or wss:// URL, not {parsed.endpoint!r}")
        if (
            parsed.rewind_seconds < 0
            or parsed.page_max < 1
            or min(parsed.page_seconds, parsed.stall_seconds) <= 0
        ):
            raise ValueError("bluesky needs rewind_seconds >= 0, page_max >= 1, page/stall_seconds > 0")
        return parsed

    def url(self, cursor_us: int | None) -> str:
        query = [("wantedCollections", "app.bsky.feed.post")]
        query += [("cursor", str(cursor_us))] if cursor_us is not None else []
        return f"{self.endpoint}{'&' if '?' in self.endpoint else '?'}{urlencode(query)}"


class RecentKeys:
    """Keys of published events, kept while a rewind may send them again (bounded)."""

    def __init__(self, keys: Iterable[str], time_us: int) -> None:
        self._times = dict.fromkeys(keys, time_us)  # times unknown after a restart: the newest, safely

    def __contains__(self, key: str) -> bool:
        return key in self._times

    def add(self, key: str, time_us: int) -> None:
        self._times[key] = time_us

    def prune(self, oldest_us: int) -> list[str]:
        """Forget keys older than `oldest_us` (and the oldest beyond the bound); the rest."""
        kept = {key: at for key, at in self._times.items() if at >= oldest_us}
        if len(kept) > MAX_RECENT_KEYS:
            kept = dict(sorted(kept.items(), key=lambda item: item[1])[-MAX_RECENT_KEYS:])
        self._times = kept
        return list(kept)


class _Reader:
    """Frames in, pages out: parsing, keyword filter, dedup and the cursor of one `pages` call."""

    def __init__(self, source: BlueskySource, options: BlueskyOptions, cursor: Cursor | None) -> None:
        self.health = source.context.health
        self.rewind_us = round(options.rewind_seconds * 1_000_000)
        self.filter = KeywordFilter(options.keywords)
        try:
            self.newest: int | None = int(cursor["time_us"]) if cursor else None
            self.recent = RecentKeys(map(str, (cursor or {}).get("recent", [])), self.newest or 0)
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"bluesky cursor {cursor!r} is not valid; delete it to start over") from None
        self.mentions: list[Mention] = []
        self.deletions: list[Deletion] = []
        self.dirty = False
        self.frames = 0

    def resume_from(self) -> int | None:
        return None if self.newest is None else max(1, self.newest - self.rewind_us)

    def take(self, frame: str | bytes) -> None:
        self.frames += 1
        try:
            event = orjson.loads(frame)
            time_us = event_time(event)
            if time_us is None:
                raise MalformedEvent("frame without time_us")
            item = parse_event(event, datetime.now(UTC))
        except (orjson.JSONDecodeError, MalformedEvent) as error:
            self.health.error("parse")
            log.debug("%s: unreadable frame: %s", self.health.name, error)
            return
        self.newest, self.dirty = max(self.newest or 0, time_us), True
        if item is None or (
            isinstance(item, Mention) and item.edited_at is None and not self.filter.matches(item.text)
        ):
            return
        key = dedup_key(event)
        if key in self.recent:
            return
        self.recent.add(key, time_us)
        if isinstance(item, Mention):
            self.mentions.append(item)
        else:
            self.deletions.append(item)

    def page(self) -> Page:
        assert self.newest is not None
        cursor = {"time_us": self.newest, "recent": self.recent.prune(self.newest - self.rewind_us)}
        page = Page(mentions=self.mentions, deletions=self.deletions, cursor=cursor)
        self.mentions, self.deletions, self.dirty = [], [], False
        return page


class BlueskySource(Source):
    kind = "bluesky"

    def check(self) -> None:
        BlueskyOptions.parse(self.options)

    async def pages(self, cursor: Cursor | None) -> AsyncIterator[Page]:
        options = BlueskyOptions.parse(self.options)
        reader, failures = _Reader(self, options, cursor), 0
        health, policy = self.context.health, self.context.retry
        while True:
            frames_before = reader.frames
            url = options.url(reader.resume_from())
            try:
                async with connect(url, user_agent_header=self.context.user_agent, close_timeout=1) as socket:
                    health.success()
                    health.backing_off(0)
                    try:
                        async with contextlib.aclosing(self._read(socket, reader, options)) as pages:
                            async for page in pages:
                                yield page
                    except GeneratorExit:  # the runner is done: no close handshake, which would wait
                        socket.transport.abort()  # for frames that backpressure left unread
                        raise
            except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError) as error:
                health.error("network")
                log.warning(
                    "%s: Jetstream connection failed or lost: %s: %s", self.name, type(error).__name__, error
                )
            if reader.dirty:
                yield reader.page()
            failures = 1 if reader.frames > frames_before else failures + 1
            if failures >= policy.attempts:
                raise RetriesExhausted(f"Jetstream {options.endpoint} failed {failures} times in a row")
            delay = min(policy.max_seconds, policy.base_seconds * 2.0 ** (failures - 1)) * (
                0.5 + random.random() / 2
            )
            health.backing_off(delay)
            await asyncio.sleep(delay)

    async def _read(
        self, socket: ClientConnection, reader: _Reader, options: BlueskyOptions
    ) -> AsyncGenerator[Page, None]:
        """Pages from one connection; ends only by an exception (closed, stalled)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + options.page_seconds
        last_frame = loop.time()
        while True:
            wait = min(deadline, last_frame + options.stall_seconds) - loop.time()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(wait, 0.0)):
                    reader.take(await socket.recv(decode=False))
                    last_frame = loop.time()
            if loop.time() - last_frame >= options.stall_seconds:
                raise ConnectionError(f"no frame for {options.stall_seconds:.0f} s")
            if len(reader.mentions) + len(reader.deletions) >= options.page_max or loop.time() >= deadline:
                if reader.dirty:
                    self.context.health.success()
                    yield reader.page()
                deadline = loop.time() + options.page_seconds
