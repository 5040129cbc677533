"""Hacker News stories and comments matching configured queries, from Algolia's free search API.

Algolia's `search_by_date` answers newest first, so a poll cannot hand out its cursor page by
page: a crash after the newest page would skip the older ones. Each poll therefore collects all
hits of a query since the cursor, then publishes them oldest first; the cursor after each page is
the newest `created_at_i` published plus the objectIDs already published at that second, and the
next request asks for `created_at_i>=` that second, so hits sharing the boundary second are
neither lost nor repeated. Algolia serves at most 1000 hits per filter (`nbPages` stops there);
when `nbHits` says more exist, the window is narrowed to end at the oldest hit seen and read again.
Options are listed in README.md (Connectors: Hacker News); the API needs no credentials. What a
hit becomes is in `connectors.hackernews_parse`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from brandmon.schemas import Mention
from connectors.hackernews_parse import hit_to_mention
from connectors.http import RetryingClient
from connectors.source import Cursor, Page, Source, SourceContext

log = logging.getLogger(__name__)
TAGS = "(story,comment)"
SEEN_MAX = 500
"""ObjectIDs kept for the boundary second; more than this in one second could repeat, never skip."""


def _usable(hit: object) -> bool:
    """A hit the cursor can order: an objectID and an integer `created_at_i`."""
    return (
        isinstance(hit, dict)
        and isinstance(hit.get("objectID"), str | int)
        and isinstance(hit.get("created_at_i"), int)
    )


@dataclass
class QueryState:
    since: int
    seen: list[str] = field(default_factory=list)

    def published(self, hit: Mapping[str, Any]) -> None:
        second, object_id = hit["created_at_i"], str(hit["objectID"])
        if second > self.since:
            self.since, self.seen = second, []
        if second == self.since and object_id not in self.seen:
            self.seen = [*self.seen, object_id][-SEEN_MAX:]


class HackerNewsSource(Source):
    kind = "hackernews"

    def __init__(self, options: Mapping[str, Any], context: SourceContext) -> None:
        super().__init__(options, context)
        queries = self.options.get("queries")
        if not isinstance(queries, list) or not queries or not all(isinstance(q, str) for q in queries):
            raise ValueError("hackernews: option `queries` must be a non-empty list of strings")
        self.queries: list[str] = list(dict.fromkeys(queries))
        self.base_url = str(self.options.get("base_url", "https://hn.algolia.com")).rstrip("/")
        self.poll_seconds = float(self.options.get("poll_seconds", 60))
        self.hits_per_page = int(self.options.get("hits_per_page", 100))
        if not 1 <= self.hits_per_page <= 1000:
            raise ValueError("hackernews: option `hits_per_page` must be between 1 and 1000")
        self.backfill_seconds = int(self.options.get("backfill_seconds", 3600))
        self.once = bool(self.options.get("once", False))

    def _states(self, cursor: Cursor | None) -> dict[str, QueryState]:
        saved = (cursor or {}).get("queries", {})
        start = int(time.time()) - self.backfill_seconds
        states = {}
        for query in self.queries:
            entry = saved.get(query) if isinstance(saved, dict) else None
            if isinstance(entry, dict) and isinstance(entry.get("since"), int):
                states[query] = QueryState(entry["since"], [str(s) for s in entry.get("seen", [])])
            else:
                states[query] = QueryState(start)
        return states

    @staticmethod
    def _cursor(states: Mapping[str, QueryState]) -> Cursor:
        return {"queries": {q: {"since": s.since, "seen": list(s.seen)} for q, s in states.items()}}

    async def pages(self, cursor: Cursor | None) -> AsyncIterator[Page]:
        states = self._states(cursor)
        client = self.context.http(base_url=self.base_url, timeout=30.0)
        try:
            while True:
                published: set[str] = set()  # a hit matching two queries goes out once per poll
                for query in self.queries:
                    state = states[query]
                    hits = await self._collect(client, query, state)
                    fetched_at = datetime.now(UTC)
                    for start in range(0, len(hits), self.hits_per_page):
                        mentions = []
                        for hit in hits[start : start + self.hits_per_page]:
                            state.published(hit)
                            mention = self._mention(hit, fetched_at)
                            if mention is not None and mention.id not in published:
                                published.add(mention.id)
                                mentions.append(mention)
                        yield Page(mentions=mentions, cursor=self._cursor(states))
                yield Page(cursor=self._cursor(states))  # lets the runner see `stop` on a quiet poll
                if self.once:
                    return
                await asyncio.sleep(self.poll_seconds)
        finally:
            await client.aclose()

    def _mention(self, hit: Mapping[str, Any], fetched_at: datetime) -> Mention | None:
        try:
            return hit_to_mention(hit, fetched_at)
        except (KeyError, TypeError, ValueError, ValidationError):
            self.context.health.error("parse")
            return None

    async def _collect(self, client: RetryingClient, query: str, state: QueryState) -> list[dict[str, Any]]:
        """Every hit since the cursor not yet published, oldest first."""
        found: dict[str, dict[str, Any]] = {}
        upper: int | None = None
        while True:
            hits, truncated = await self._window(client, query, state.since, upper)
            for hit in hits:
                found.setdefault(str(hit["objectID"]), hit)
            if not hits or not truncated:
                break
            oldest = min(hit["created_at_i"] for hit in hits)
            if upper is not None and oldest >= upper:
                log.warning("%s: over 1000 hits in one second for a query; some are skipped", self.name)
                break
            upper = oldest
        seen = set(state.seen)
        fresh = [
            h for h in found.values() if not (h["created_at_i"] == state.since and str(h["objectID"]) in seen)
        ]
        return sorted(fresh, key=lambda h: (h["created_at_i"], len(str(h["objectID"])), str(h["objectID"])))

    async def _window(
        self, client: RetryingClient, query: str, since: int, upper: int | None
    ) -> tuple[list[dict[str, Any]], bool]:
        """All pages of one numeric window; and whether Algolia holds more than it would page out."""
        numeric = f"created_at_i>={since}" + (f",created_at_i<={upper}" if upper is not None else "")
        hits: dict[str, dict[str, Any]] = {}
        page, pages, total, received = 0, 1, 0, 0
        while page < pages:
            params = {"query": query, "tags": TAGS, "numericFilters": numeric}
            params |= {"hitsPerPage": str(self.hits_per_page), "page": str(page)}
            body = (await client.get("/api/v1/search_by_date", params=params)).json()
            if not isinstance(body, dict) or not isinstance(body.get("hits"), list):
                self.context.health.error("parse")
                raise ValueError("hackernews: search_by_date answered without a `hits` list")
            for hit in body["hits"]:
                if _usable(hit):
                    hits.setdefault(str(hit["objectID"]), hit)
                else:
                    self.context.health.error("parse")
            pages, total = int(body.get("nbPages", 0)), int(body.get("nbHits", 0))
            received += len(body["hits"])
            page += 1
            if not body["hits"]:
                break
        return list(hits.values()), received < total
