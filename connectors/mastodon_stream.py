"""Mastodon's streaming API (SSE or WebSocket): connect, reconnect with backoff, queue the events.

Split from `connectors.mastodon` because the connection machinery changes for other reasons than
the timeline logic: transports, handshakes, refusals and backoff live here, while what an event
or a timeline page means for the cursor stays with the source. The stream does not import the
source; it is handed a `Timeline` (the source's per-run state) that turns events into pages and
catches a feed up, which it does after every (re)connection because a stream has no replay.

Each connection runs in its own task and feeds one queue: one task per feed over SSE, one task for
all feeds over WebSocket (the first feed in the URL, the others subscribed). Connection tasks never
end a run by a network error: they reconnect, pausing longer after each failed attempt. A refusal
(4xx, an `error` frame) ends the run through the queue so the runner pauses and retries it. The
WebSocket library logs handshake headers (our token) at DEBUG, so its logger is kept above DEBUG.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode

import httpx
import orjson
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI, WebSocketException

from connectors.http import RetryingClient
from connectors.mastodon_parse import Feed, StreamEvent, sse_events, ws_event
from connectors.source import Cursor, Page, SourceContext

# The source's logger name, as before this module was split off, so logging settings still apply.
log = logging.getLogger("connectors.mastodon")


class _NoDebug(logging.LoggerAdapter):  # type: ignore[type-arg]
    """The WebSocket library logs handshake headers (our token) at DEBUG: never let it."""

    def isEnabledFor(self, level: int) -> bool:
        return level > logging.DEBUG and self.logger.isEnabledFor(level)


_WS_LOG = _NoDebug(logging.getLogger(f"{log.name}.websocket"), {})


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


class Timeline(Protocol):
    """What the stream needs of the source's run: events to pages, and a catch-up per feed."""

    def cursor(self) -> Cursor: ...

    def event(self, key: str | None, event: StreamEvent) -> Page: ...

    def catch_up(self, feed: Feed) -> AsyncIterator[Page]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class MastodonStream:
    """The live half of a Mastodon source: its feeds' streams, read until the run is cancelled."""

    context: SourceContext
    instance: str
    feeds: Sequence[Feed]
    websocket: bool
    idle_seconds: float
    streaming_url: str
    """The `streaming_url` option; empty: ask the instance."""

    @property
    def name(self) -> str:
        return self.context.name

    async def pages(self, run: Timeline, http: RetryingClient, auth: dict[str, str]) -> AsyncIterator[Page]:
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
        if self.streaming_url:
            return self.streaming_url.rstrip("/")
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
