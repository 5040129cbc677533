"""RSS/Atom source: blogs, news sites and Google Alerts feeds, polled politely, nothing published twice.

Feeds have no "since" parameter: every poll returns the latest N entries again. So each feed's
cursor remembers the entries it has published (a hash of the id and of the text, the newest
`remember_ids`, always at least the entries still in the feed): an entry that stays in the feed is
not published again after a restart, and an entry whose text changed is published again as an
edit (`edited_at`). Conditional GET (ETag / Last-Modified, 304) keeps unchanged feeds cheap.

One instance polls many feeds, `concurrency` at a time; every round yields one page per feed whose
cursor carries all feeds' state, so the runner saves it only once that feed's mentions are
acknowledged. A failing feed (404, timeouts after retries, broken XML) is counted in health and
skipped for the round; it never stops the others. The cursor holds no feed URLs (private Google
Alerts and token-bearing URLs are secrets): feeds are keyed by a hash of their URL, and logs name a
feed by its position and host. The options and each feed's cursor state are in `connectors.rss_state`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import ValidationError

from brandmon.schemas import Mention
from connectors.http import RetriesExhausted, RetryingClient
from connectors.rss_parse import ParsedFeed, entry_mention, entry_moment, entry_text, native_id, parse_feed
from connectors.rss_state import Feed, FeedState, RssOptions, digest
from connectors.source import Cursor, Page, Source, SourceContext

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Fetched:
    parsed: ParsedFeed | None
    """None: not modified (304) or the feed failed this round."""
    fetched_at: datetime
    etag: str | None = None
    modified: str | None = None


class RssSource(Source):
    kind = "rss"

    def __init__(self, options: Mapping[str, Any], context: SourceContext) -> None:
        super().__init__(options, context)
        self.settings = RssOptions.model_validate(options)
        self.feeds = self.settings.feed_list()

    async def pages(self, cursor: Cursor | None) -> AsyncIterator[Page]:
        saved = (cursor or {}).get("feeds")
        saved = saved if isinstance(saved, dict) else {}
        state = {feed.key: FeedState.load(saved.get(feed.key)) for feed in self.feeds}
        http = self.context.http(follow_redirects=True, timeout=self.settings.timeout_seconds)
        try:
            while True:
                async with contextlib.aclosing(self._round(http, state)) as fetches:
                    async for feed, fetched in fetches:
                        mentions, new = self._apply(feed, fetched, state[feed.key])
                        changed = new != state[feed.key]
                        state[feed.key] = new
                        cursor = {"feeds": {key: s.dump() for key, s in state.items()}} if changed else None
                        yield Page(mentions=mentions, cursor=cursor)
                await asyncio.sleep(self.settings.poll_seconds)
        finally:
            await http.aclose()

    async def _round(
        self, http: RetryingClient, state: dict[str, FeedState]
    ) -> AsyncGenerator[tuple[Feed, Fetched], None]:
        """Every feed fetched once, `concurrency` at a time, in the order they answer."""
        limit = asyncio.Semaphore(self.settings.concurrency)

        async def fetch(feed: Feed) -> tuple[Feed, Fetched]:
            async with limit:
                return feed, await self._fetch(http, feed, state[feed.key])

        tasks = [asyncio.ensure_future(fetch(feed)) for feed in self.feeds]
        try:
            for done in asyncio.as_completed(tasks):
                yield await done
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _fetch(self, http: RetryingClient, feed: Feed, state: FeedState) -> Fetched:
        headers = {"If-None-Match": state.etag} if state.etag else {}
        if state.modified:
            headers["If-Modified-Since"] = state.modified
        fetched_at = datetime.now(UTC)
        try:
            response = await http.get(feed.url, headers=headers)
        except (RetriesExhausted, httpx.HTTPError) as error:  # never log the message: it has the URL
            reason = type(error).__name__
            if isinstance(error, httpx.HTTPStatusError):  # 4xx: counted by the client, as retries are
                reason = str(error.response.status_code)
            elif not isinstance(error, RetriesExhausted):  # redirect loops, invalid URLs
                self.context.health.error("network")
            log.warning("%s: %s skipped this round (%s)", self.name, feed.label, reason)
            return Fetched(None, fetched_at)
        if response.status_code == 304:
            return Fetched(None, fetched_at)
        try:
            parsed = await asyncio.to_thread(
                parse_feed, response.content, response.charset_encoding, feed.url
            )
        except Exception as error:  # feedparser is lenient; if it still fails, only this feed does
            self.context.health.error("parse")
            log.warning("%s: %s could not be parsed (%s)", self.name, feed.label, type(error).__name__)
            return Fetched(None, fetched_at)
        return Fetched(
            parsed, fetched_at, response.headers.get("etag"), response.headers.get("last-modified")
        )

    def _apply(self, feed: Feed, fetched: Fetched, old: FeedState) -> tuple[list[Mention], FeedState]:
        """The new and edited entries of a fetched document, and the feed's state after it."""
        parsed = fetched.parsed
        if parsed is None:
            return [], old
        if parsed.broken:
            self.context.health.error("parse")
        if not parsed.usable:  # keep the old cursor: the next poll fetches the document again
            log.warning("%s: %s answered a document that is not a feed", self.name, feed.label)
            return [], old
        mentions: list[Mention] = []
        current: dict[str, str] = {}
        for entry in parsed.entries[: self.settings.max_entries_per_feed]:
            key = native_id(entry, feed.url)
            if key is None:  # no guid, link, title or text: nothing to publish or to recognise
                self.context.health.error("parse")
                continue
            id_hash = digest(key, 16)
            if id_hash in current:  # the same entry twice in one document
                continue
            try:
                mention: Mention | None = entry_mention(
                    entry, key, feed.url, parsed.language, fetched.fetched_at
                )
            except ValidationError:
                self.context.health.error("parse")
                mention = None
            text = mention.text if mention is not None else entry_text(entry)
            current[id_hash] = digest(text, 8)
            previous = old.seen.get(id_hash)
            if mention is None or previous == current[id_hash]:
                continue
            if previous is not None:  # seen before with another text: an edit
                updated = entry_moment(entry, "updated")
                edited = updated if updated and updated > mention.created_at else fetched.fetched_at
                mention = mention.model_copy(update={"edited_at": edited})
            mentions.append(mention)
        older = [(k, v) for k, v in old.seen.items() if k not in current]
        room = max(self.settings.remember_ids - len(current), 0)
        seen = dict(older[len(older) - room :] if room else []) | dict(reversed(current.items()))
        mentions.sort(key=lambda m: m.created_at)
        return mentions, FeedState(fetched.etag, fetched.modified, seen)
