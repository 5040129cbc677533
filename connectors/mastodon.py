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

This module holds the options, the cursor and the catch-up; the streaming connections (transports,
reconnects, refusals) are in `connectors.mastodon_stream`.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

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
    status_mention,
)
from connectors.mastodon_stream import MastodonStream
from connectors.mastodon_stream import StreamRefused as StreamRefused  # re-exported: it moved there
from connectors.source import Cursor, Page, Source, SourceContext

log = logging.getLogger(__name__)


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
            try:
                deletion = Deletion(id=mention_id(self.source.host, status_id), deleted_at=datetime.now(UTC))
            except ValidationError as error:
                self.source.context.health.error("parse")
                log.warning("%s: skipped a delete event: %s", self.source.name, str(error)[:200])
                return Page()
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
            stream = MastodonStream(
                context=self.context,
                instance=self.instance,
                feeds=self.feeds,
                websocket=self.websocket,
                idle_seconds=self.idle_seconds,
                streaming_url=str(self.options.get("streaming_url") or ""),
            )
            async for page in stream.pages(run, http, auth):
                yield page
        finally:
            await http.aclose()
