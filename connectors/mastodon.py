"""Mastodon: public posts of one instance, streamed live (SSE or WebSocket) or polled.

Streaming is the default: a post arrives within a second and costs no API budget. A stream has no
replay, though, so whatever is posted while it is disconnected would be lost; every (re)connection
therefore first catches up on the feed's REST timeline from the cursor's position (`min_id`
paging, oldest first) and only then reads events. Events that arrive meanwhile wait in the socket
and are dropped if the catch-up already published them. Polling runs the same catch-up every
`poll_seconds`. Each catch-up re-reads the `overlap` newest ids it has seen, because a remote post
federates late and gets an id from its creation time, i.e. below ids already read; the cursor keeps
a bounded seen-set per feed (id -> edited_at), so a re-read publishes nothing but the late posts
and edits. Limits: a late post older than the overlap window is missed, and deletions are only seen
live (a poll cannot see them).

The access token comes from `token_env` or `token_file`; it travels only in the Authorization
header (never a URL), is never logged (the WebSocket library's header logging is switched off) and
is never in the cursor. Mastodon 4.2+ requires a user token for every stream; public and tag
timelines can be polled without one where the instance allows it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI, WebSocketException

from brandmon.schemas import Deletion, Mention
from connectors.http import RetryingClient
from connectors.mastodon_parse import (
    Feed,
    StreamEvent,
    UnreadableStatus,
    feeds,
    id_order,
    instance_host,
    link_url,
    load_status,
    mention_id,
    original,
    sse_events,
    status_mention,
    ws_event,
)
from connectors.source import Cursor, Page, Source, SourceContext

log = logging.getLogger(__name__)


class _NoDebug(logging.LoggerAdapter):  # type: ignore[type-arg]
    """The WebSocket library logs handshake headers (our token) at DEBUG: never let it."""

    def isEnabledFor(self, level: int) -> bool:
        return level > logging.DEBUG and self.logger.isEnabledFor(level)


_WS_LOG = _NoDebug(logging.getLogger(f"{__name__}.websocket"), {})


def read_token(options: Mapping[str, Any]) -> str | None:
    """The access token from `token_env` or `token_file` (their names may be logged, never the value)."""
    if "token_env" in options:
        token = os.environ.get(str(options["token_env"]), "").strip()
        if not token:
            raise ValueError(f"environment variable {options['token_env']} (token_env) is not set")
        return token
    if "token_file" in options:
        return Path(str(options["token_file"])).read_text(encoding="utf-8").strip() or None
    return None


class StreamRefused(Exception):
    """The streaming server refused us (bad token, unknown stream): the runner pauses and retries."""


class _Retry(Exception):
    def __init__(self, delay: float | None) -> None:
        self.delay = delay


@dataclass(frozen=True, slots=True)
class _Connected:
    feed: Feed


@dataclass(frozen=True, slots=True)
class _Received:
    key: str | None
    event: StreamEvent


_Item = _Connected | _Received | Exception


class _Run:
    """One `pages()` call: the per-feed seen-sets (the cursor) and what this run published."""

    def __init__(self, source: MastodonSource, http: RetryingClient, cursor: Cursor | None) -> None:
        self.source, self.http = source, http
        saved = (cursor or {}).get("feeds", {})
        self.seen: dict[str, dict[str, str]] = {f.key: dict(saved.get(f.key, {})) for f in source.feeds}
        self.published: dict[str, str] = {}
        """Original status id -> edited_at published by this run, so boosts and replays go out once."""

    def cursor(self) -> Cursor:
        return {"feeds": {key: dict(seen) for key, seen in self.seen.items()}}

    def _take(self, status: Mapping[str, Any], key: str | None, edit_event: bool) -> Mention | None:
        status_id, post = str(status["id"]), original(status)
        edited = str(post.get("edited_at") or "")
        seen = self.seen[key] if key is not None else {}
        before = self.published.get(str(post["id"]), seen.get(status_id))
        if not edit_event or status_id in seen:  # an edit's old id must not move the position
            seen[status_id] = edited
            for old in sorted(seen, key=id_order)[: max(0, len(seen) - 2 * self.source.overlap - 20)]:
                del seen[old]
        if edit_event:
            publish, as_edit = before != edited, True
        else:
            publish, as_edit = before is None or edited not in ("", before), before is not None
        if not publish:
            return None
        self.published[str(post["id"])] = edited
        if len(self.published) > 10_000:
            del self.published[next(iter(self.published))]
        source = self.source
        now = datetime.now(UTC)
        return status_mention(status, source.host, now, edited=as_edit, visibility=source.visibility)

    def statuses(self, key: str | None, statuses: list[Any], edit_event: bool = False) -> Page:
        mentions = []
        readable = [s for s in statuses if isinstance(s, dict)]
        for status in sorted(readable, key=lambda s: id_order(str(s.get("id", "")))):
            try:
                mention = self._take(status, key, edit_event)
            except (UnreadableStatus, KeyError, AttributeError) as error:
                self.source.context.health.error("parse")
                log.warning("%s: skipped a status: %s", self.source.name, error)
                continue
            if mention is not None:
                mentions.append(mention)
        for _ in range(len(statuses) - len(readable)):
            self.source.context.health.error("parse")
        return Page(mentions=mentions, cursor=self.cursor())

    async def catch_up(self, feed: Feed) -> AsyncIterator[Page]:
        """The feed's timeline from the overlap position on, oldest page first (just the newest
        page when nothing was seen yet), following the Link header's `prev` (newer) page."""
        seen = sorted(self.seen[feed.key], key=id_order, reverse=True)
        after = seen[min(self.source.overlap, len(seen) - 1)] if seen else None
        url = self.source.instance + feed.path
        params: dict[str, str] | None = {**dict(feed.params), "limit": str(self.source.limit)}
        for _ in range(self.source.max_pages):
            if after is not None and params is not None:
                params["min_id"] = after
            response = await self.http.get(url, params=params)
            try:
                statuses = response.json()
            except ValueError:
                statuses = None
            if not isinstance(statuses, list):
                self.source.context.health.error("parse")
                log.warning("%s: %s did not answer a JSON list", self.source.name, feed.key)
                return
            yield self.statuses(feed.key, statuses)
            if after is None or not statuses:
                return
            newer = link_url(response.headers.get("link"), "prev")
            if newer is not None and newer.startswith(self.source.instance + "/"):
                url, params = newer, None
            else:
                after = max((str(s.get("id", "")) for s in statuses if isinstance(s, dict)), key=id_order)
        log.warning(
            "%s: %s catch-up stopped after %d pages", self.source.name, feed.key, self.source.max_pages
        )

    def event(self, key: str | None, event: StreamEvent) -> Page:
        if event.name == "delete" and event.payload:
            status_id = event.payload.strip().strip('"')
            deletion = Deletion(id=mention_id(self.source.host, status_id), deleted_at=datetime.now(UTC))
            return Page(deletions=[deletion], cursor=self.cursor())
        if event.name not in ("update", "status.update"):
            return Page()  # notifications, conversations, announcements, filters_changed
        try:
            status = load_status(event.payload)
        except UnreadableStatus as error:
            self.source.context.health.error("parse")
            log.warning("%s: skipped an %s event: %s", self.source.name, event.name, error)
            return Page()
        return self.statuses(key, [status], event.name == "status.update")


class MastodonSource(Source):
    kind = "mastodon"

    def __init__(self, options: Mapping[str, Any], context: SourceContext) -> None:
        super().__init__(options, context)
        if not options.get("instance"):
            raise ValueError("mastodon needs `instance`, the base URL, e.g. https://mastodon.social")
        self.instance = str(options["instance"]).rstrip("/")
        self.host = instance_host(self.instance)
        self.feeds = feeds(options)
        self.poll = options.get("mode", "stream") == "poll"
        self.websocket = options.get("transport", "sse") == "websocket"
        if options.get("transport", "sse") not in ("sse", "websocket"):
            raise ValueError(f"mastodon transport {options['transport']!r} is neither sse nor websocket")
        self.poll_seconds = float(options.get("poll_seconds", 30))
        self.overlap = int(options.get("overlap", 20))
        self.limit = int(options.get("limit", 40))
        self.max_pages = int(options.get("max_pages", 50))
        self.idle_seconds = float(options.get("idle_seconds", 90))
        self.visibility = frozenset(options.get("visibility", ["public"]))
        read_token(options)  # a missing token fails at start-up, not at the first request

    async def pages(self, cursor: Cursor | None) -> AsyncIterator[Page]:
        token = read_token(self.options)
        auth = {"Authorization": f"Bearer {token}"} if token else {}
        http = self.context.http(headers=auth, timeout=30.0)
        run = _Run(self, http, cursor)
        try:
            while self.poll:
                for each in self.feeds:
                    async for page in run.catch_up(each):
                        yield page
                await asyncio.sleep(self.poll_seconds)
            async for page in self._stream(run, http, auth):
                yield page
        finally:
            await http.aclose()

    async def _stream(self, run: _Run, http: RetryingClient, auth: dict[str, str]) -> AsyncIterator[Page]:
        base = await self._streaming_base(http)
        queue: asyncio.Queue[_Item] = asyncio.Queue(maxsize=1000)
        client = httpx.AsyncClient(
            headers={"User-Agent": self.context.user_agent, **auth},
            timeout=httpx.Timeout(30.0, read=self.idle_seconds),
        )
        if self.websocket:
            connects = [functools.partial(self._websocket, _scheme(base, "ws"), auth, queue)]
        else:
            connects = [
                functools.partial(self._sse, client, _scheme(base, "http"), f, queue) for f in self.feeds
            ]
        tasks = [asyncio.create_task(self._pump(connect, queue)) for connect in connects]
        try:
            while True:
                items = [await queue.get()]
                while len(items) < 200 and not queue.empty():
                    items.append(queue.get_nowait())
                page = Page()
                for item in items:
                    if isinstance(item, _Received):
                        got = run.event(item.key, item.event)
                        page = Page(
                            page.mentions + got.mentions, page.deletions + got.deletions, run.cursor()
                        )
                        continue
                    if page.mentions or page.deletions:
                        yield page
                    page = Page()
                    if isinstance(item, Exception):
                        raise item
                    async for caught_up in run.catch_up(item.feed):
                        yield caught_up
                if page.mentions or page.deletions:
                    yield page
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await client.aclose()

    async def _streaming_base(self, http: RetryingClient) -> str:
        """`streaming_url`, else the instance's announced streaming URL, else the instance itself."""
        if self.options.get("streaming_url"):
            return str(self.options["streaming_url"]).rstrip("/")
        try:
            response = await http.get(self.instance + "/api/v2/instance")
            return str(response.json()["configuration"]["urls"]["streaming"]).rstrip("/")
        except (httpx.HTTPStatusError, ValueError, KeyError, TypeError):
            return self.instance

    async def _pump(self, connect: Callable[[], Awaitable[None]], queue: asyncio.Queue[_Item]) -> None:
        """Connect again after every drop, pausing longer after each failed attempt (with jitter)."""
        attempt = 0
        while True:
            try:
                await connect()
                attempt, delay = 0, None
            except StreamRefused as refused:
                await queue.put(refused)
                return
            except _Retry as retry:
                attempt, delay = attempt + 1, retry.delay
            except (httpx.RequestError, OSError, TimeoutError, WebSocketException) as error:
                self.context.health.error("network")
                log.warning("%s: stream connection failed: %s", self.name, type(error).__name__)
                attempt, delay = attempt + 1, None
            except Exception as error:  # anything else ends the run (the runner restarts it), never hangs it
                await queue.put(error)
                return
            policy = self.context.retry
            ceiling = min(policy.max_seconds, policy.base_seconds * 2.0**attempt)
            delay = min(
                policy.max_seconds, delay if delay is not None else ceiling * (0.5 + random.random() / 2)
            )
            self.context.health.backing_off(delay)
            await asyncio.sleep(delay)

    def _refused(self, status: int, retry_after: str | None) -> Exception:
        log.warning("%s: streaming server answered %d", self.name, status)
        if status == 429 or status >= 500:
            self.context.health.error("rate_limited" if status == 429 else "http_5xx")
            try:
                return _Retry(float(retry_after) if retry_after else None)
            except ValueError:
                return _Retry(None)
        self.context.health.error("http_4xx")
        return StreamRefused(f"streaming server answered {status}")

    def _connected(self) -> None:
        self.context.health.success()
        self.context.health.backing_off(0)

    async def _sse(
        self, client: httpx.AsyncClient, base: str, feed: Feed, queue: asyncio.Queue[_Item]
    ) -> None:
        url = f"{base}/api/v1/streaming/{feed.stream.replace(':', '/')}"
        async with client.stream("GET", url, params={"tag": feed.tag} if feed.tag else None) as response:
            if response.status_code != 200:
                raise self._refused(response.status_code, response.headers.get("retry-after"))
            self._connected()
            await queue.put(_Connected(feed))
            try:
                async for event in sse_events(response.aiter_lines()):
                    await queue.put(_Received(feed.key, event))
            except httpx.RequestError as error:  # dropped, or silent for idle_seconds: reconnect
                self.context.health.error("network")
                log.warning("%s: %s stream dropped: %s", self.name, feed.key, type(error).__name__)

    async def _websocket(self, base: str, auth: dict[str, str], queue: asyncio.Queue[_Item]) -> None:
        first = self.feeds[0]
        query = urlencode({"stream": first.stream, **({"tag": first.tag} if first.tag else {})})
        keys = {(f.stream, (f.tag or "").lower()): f.key for f in self.feeds}
        try:
            async with ws_connect(
                f"{base}/api/v1/streaming?{query}",
                additional_headers=auth,
                user_agent_header=self.context.user_agent,
                ping_timeout=self.idle_seconds,
                logger=_WS_LOG,
            ) as websocket:
                for more in self.feeds[1:]:
                    subscribe = {"type": "subscribe", "stream": more.stream}
                    await websocket.send(
                        orjson.dumps(subscribe | ({"tag": more.tag} if more.tag else {})).decode()
                    )
                self._connected()
                for each in self.feeds:
                    await queue.put(_Connected(each))
                async for frame in websocket:
                    event = ws_event(frame)
                    if event is None:
                        self.context.health.error("parse")
                    elif event.name == "error":
                        self.context.health.error("http_4xx")
                        raise StreamRefused(f"streaming server: {event.payload}")
                    else:
                        name, tag, *_ = (*event.stream, "", "")
                        key = keys.get(
                            (name, tag.lower()), self.feeds[0].key if len(self.feeds) == 1 else None
                        )
                        await queue.put(_Received(key, event))
        except InvalidURI:
            raise StreamRefused(f"streaming_url {base!r} is not a ws:// or wss:// URL") from None
        except InvalidStatus as error:
            raise self._refused(
                error.response.status_code, error.response.headers.get("retry-after")
            ) from None
        except ConnectionClosed as error:
            self.context.health.error("network")
            log.warning("%s: websocket closed: %s", self.name, type(error).__name__)


def _scheme(url: str, family: str) -> str:
    """The streaming URL with the scheme the transport needs: `wss://` <-> `https://`."""
    secure = url.startswith(("https:", "wss:"))
    return f"{family}{'s' if secure else ''}://{url.split('://', 1)[-1]}"
