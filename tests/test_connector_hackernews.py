"""Hacker News connector against a local Algolia serving the real 2014 search responses in ../shared.

Recordings served as they are must give exactly their stories and comments. For polling, paging
and restarts a small `Algolia` answers `search_by_date` from the recorded hits (verbatim) the way
the real one would: filter by tags and `numericFilters`, newest first, `hitsPerPage`/`page`, at
most `max_hits` reachable. Only the envelope's paging numbers are computed.
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from connectors.checkpoint import CheckpointStore
from connectors.hackernews import HackerNewsSource
from connectors.health import SourceMetrics
from connectors.http import RetryingClient, RetryPolicy
from connectors.runner import run_source
from connectors.source import Page, SourceContext
from tests.conftest import SHARED
from tests.local_http import serve
from tests.test_connector_runner import FlakySink

pytestmark = pytest.mark.shared
ALGOLIA_DIR = SHARED / "fixtures" / "hackernews" / "algolia"
TWENTY = "fixtures_20perpage_645fad2.json"
EVER = 20 * 365 * 86400  # backfill reaching 2014


def recordings(name: str) -> dict[str, dict[str, Any]]:
    """`url -> reply` of one recorded fixture file."""
    path = ALGOLIA_DIR / name
    if not path.is_file():
        pytest.skip(f"shared Hacker News recordings not found at {path} (the ../shared checkout)")
    return {entry["url"]: entry["reply"] for entry in json.loads(path.read_text())}


def ids(hits: list[dict[str, Any]]) -> list[str]:
    """Mention ids of the stories and comments among `hits`, oldest first."""
    wanted = [h for h in hits if {"story", "comment"} & set(h["_tags"])]
    return [f"hackernews:{h['objectID']}" for h in sorted(wanted, key=lambda h: h["created_at_i"])]


@dataclass(frozen=True, slots=True)
class QuickContext(SourceContext):
    """The runner's context, but waits are recorded instead of slept: backoff is asserted, not endured."""

    waits: list[float] = field(default_factory=list)

    def http(self, **kwargs: Any) -> RetryingClient:
        headers = {"User-Agent": self.user_agent, **kwargs.pop("headers", {})}
        client = httpx.AsyncClient(headers=headers, **kwargs)
        return RetryingClient(client, self.health, self.retry, sleep=self._record)

    async def _record(self, seconds: float) -> None:
        self.waits.append(seconds)


def context(registry: CollectorRegistry | None = None) -> QuickContext:
    health = SourceMetrics(registry or CollectorRegistry()).for_source("hn")
    return QuickContext(name="hn", health=health, retry=RetryPolicy(base_seconds=0.01))


def hn(url: str, ctx: QuickContext, **options: Any) -> HackerNewsSource:
    return HackerNewsSource({"base_url": url, "backfill_seconds": EVER, "once": True, **options}, ctx)


def _numeric(hit: dict[str, Any], filters: str) -> bool:
    for field_name, op, value in re.findall(r"(\w+)(>=|<=|>|<|=)(\d+)", filters):
        have, want = hit[field_name], int(value)
        ok = {">=": have >= want, "<=": have <= want, ">": have > want, "<": have < want, "=": have == want}
        if not ok[op]:
            return False
    return True


class Algolia:
    """`search_by_date` over recorded hits, per query; `failures` are answered first."""

    def __init__(self, by_query: dict[str, list[dict[str, Any]]], max_hits: int = 1000) -> None:
        self.by_query, self.max_hits = by_query, max_hits
        self.failures: list[web.Response] = []

    def __call__(self, request: web.Request) -> web.Response:
        if self.failures:
            return self.failures.pop(0)
        query = request.query
        wanted = set(query["tags"].strip("()").split(","))
        hits = [
            h
            for h in self.by_query.get(query["query"], [])
            if wanted & set(h["_tags"]) and _numeric(h, query.get("numericFilters", ""))
        ]
        hits.sort(key=lambda h: (h["created_at_i"], h["objectID"]), reverse=True)
        per, page = int(query["hitsPerPage"]), int(query["page"])
        reachable = hits[: self.max_hits]
        body = {"hits": reachable[page * per : (page + 1) * per], "nbHits": len(hits), "page": page}
        body |= {"nbPages": math.ceil(len(reachable) / per), "hitsPerPage": per, "query": query["query"]}
        return web.json_response(body)


def apple_and_front_page() -> dict[str, list[dict[str, Any]]]:
    replies = recordings(TWENTY)

    def pick(*urls: str) -> list[dict[str, Any]]:
        return [h for url in urls for h in replies[f"/api/v1/search_by_date?{url}"]["hits"]]

    return {
        "apple": pick("query=apple&tags=comment", "query=apple&tags=story", "query=apple&tags=poll"),
        "hn": pick("tags=comment", "tags=story"),
    }


async def test_every_recorded_reply_yields_exactly_its_stories_and_comments() -> None:
    playing: dict[str, Any] = {}

    def answer(request: web.Request) -> web.Response:
        first = request.query["page"] == "0" and "<=" not in request.query["numericFilters"]
        return web.json_response(playing["reply"] if first else {**playing["reply"], "hits": []})

    async with serve({"/api/v1/search_by_date": answer}) as server:
        for name in ("fixtures.json", TWENTY):
            for url, reply in recordings(name).items():
                if "search_by_date" not in url:
                    continue
                playing["reply"], sink = reply, FlakySink()
                await run_source(hn(server.url, context(), queries=["apple"]), sink, None)
                assert sorted(sink.ids) == sorted(ids(reply["hits"])), f"{name} {url}"
                assert len(sink.ids) == len(set(sink.ids))


async def test_stories_and_comments_become_mentions_with_plain_text() -> None:
    replies = recordings(TWENTY)
    hits = replies["/api/v1/search_by_date?query=apple&tags=comment"]["hits"]
    hits += replies["/api/v1/search_by_date?query=apple&tags=story"]["hits"]
    source = hn("http://unused", context(), queries=["apple"])
    fetched = datetime.now(UTC)
    mentions = {m.id: m for h in hits if (m := source._mention(h, fetched)) is not None}
    comment = mentions["hackernews:7850047"]
    assert comment.text.startswith("you think the university board wouldn't appeal to a good argument?")
    assert "shut up.\n\ni find it hard" in comment.text
    assert comment.reply_to == "hackernews:7849975"
    assert comment.url == "https://news.ycombinator.com/item?id=7850047"
    assert comment.author.handle == "catshirt"
    assert comment.created_at == datetime(2014, 6, 5, 3, 22, 47, tzinfo=UTC)
    story = mentions["hackernews:7849958"]
    assert story.text == (
        "CoinJar for iPhone on the App Store on iTunes\n\n"
        "https://itunes.apple.com/au/app/coinjar-for-iphone/id725209873?mt=8&ign-mpt=uo%3D4"
    )
    assert (story.reply_to, story.engagement.likes, story.engagement.replies) == (None, 1, 0)
    assert all("<p>" not in m.text and "&#x27;" not in m.text for m in mentions.values())


async def test_polls_every_query_through_all_pages_oldest_first(tmp_path: Path) -> None:
    by_query = apple_and_front_page()
    store, sink = CheckpointStore(tmp_path), FlakySink()
    async with serve({"/api/v1/search_by_date": Algolia(by_query)}) as server:
        source = hn(server.url, context(), queries=["apple", "hn"], hits_per_page=7)
        await run_source(source, sink, store)
        requests = [r.query for r in server.requests]
    expected = ids(by_query["apple"]) + [i for i in ids(by_query["hn"]) if i not in ids(by_query["apple"])]
    assert sink.ids == expected
    assert {q["tags"] for q in requests} == {"(story,comment)"}
    assert {q["page"] for q in requests} == {str(p) for p in range(6)}  # 40 front-page hits / 7
    newest = max(by_query["hn"], key=lambda h: h["created_at_i"])
    saved = store.load("hn")
    assert saved is not None
    assert saved["queries"]["hn"] == {
        "since": newest["created_at_i"],
        "seen": [newest["objectID"]],
    }


async def test_the_next_poll_takes_only_new_hits_including_late_ones_in_the_boundary_second(
    tmp_path: Path,
) -> None:
    hits = sorted(apple_and_front_page()["hn"], key=lambda h: h["created_at_i"])
    old, new = hits[:25], hits[25:]
    twin = {**copy.deepcopy(old[-1]), "objectID": "99999999"}  # derived: indexed later, same second
    algolia, store = Algolia({"hn": old}), CheckpointStore(tmp_path)
    async with serve({"/api/v1/search_by_date": algolia}) as server:
        first, second = FlakySink(), FlakySink()
        await run_source(hn(server.url, context(), queries=["hn"]), first, store)
        algolia.by_query["hn"] = [*old, twin, *new]
        await run_source(hn(server.url, context(), queries=["hn"]), second, store)
        numeric = server.requests[-1].query["numericFilters"]
    assert first.ids == ids(old)
    assert second.ids == ["hackernews:99999999", *ids(new)]
    assert numeric == f"created_at_i>={old[-1]['created_at_i']}"


async def test_a_crash_mid_poll_resumes_with_no_gap_and_no_duplicate(tmp_path: Path) -> None:
    by_query = apple_and_front_page()
    store = CheckpointStore(tmp_path)
    async with serve({"/api/v1/search_by_date": Algolia(by_query)}) as server:
        crashed = FlakySink(fail_after=3)
        with pytest.raises(ConnectionError):
            await run_source(hn(server.url, context(), queries=["hn"], hits_per_page=6), crashed, store)
        resumed = FlakySink()
        await run_source(hn(server.url, context(), queries=["hn"], hits_per_page=6), resumed, store)
    assert len(crashed.ids) == 18
    assert crashed.ids + resumed.ids == ids(by_query["hn"])


@pytest.mark.parametrize("headers", [{"Retry-After": "3"}, {}], ids=["retry-after", "backoff"])
async def test_429_waits_and_loses_nothing(headers: dict[str, str]) -> None:
    by_query = apple_and_front_page()
    algolia, registry = Algolia(by_query), CollectorRegistry()
    algolia.failures = [web.Response(status=429, headers=headers), web.Response(status=503)]
    ctx, sink = context(registry), FlakySink()
    async with serve({"/api/v1/search_by_date": algolia}) as server:
        await run_source(hn(server.url, ctx, queries=["apple"], hits_per_page=9), sink, None)
    assert sink.ids == ids(by_query["apple"])
    if headers:
        assert ctx.waits[0] == 3.0
    else:
        assert 0.005 <= ctx.waits[0] <= 0.01
    assert len(ctx.waits) == 2
    labels = {"source": "hn", "kind": "rate_limited"}
    assert registry.get_sample_value("brandmon_source_errors_total", labels) == 1


async def test_more_hits_than_algolia_pages_out_are_read_in_narrower_windows() -> None:
    by_query = apple_and_front_page()
    sink = FlakySink()
    async with serve({"/api/v1/search_by_date": Algolia(by_query, max_hits=8)}) as server:
        await run_source(hn(server.url, context(), queries=["hn"], hits_per_page=4), sink, None)
        filters = {r.query["numericFilters"] for r in server.requests}
    assert sink.ids == ids(by_query["hn"])
    assert len(filters) >= 5  # 40 hits, 8 reachable per window
    assert all(",created_at_i<=" in f for f in filters - {min(filters, key=len)})


async def test_fields_of_todays_responses_are_ignored() -> None:
    by_query = apple_and_front_page()
    modern = [
        {**h, "updated_at": "2024-01-01T00:00:00Z", "children": [1, 2], "story_id": 1}
        for h in by_query["apple"]
    ]
    sink = FlakySink()
    async with serve({"/api/v1/search_by_date": Algolia({"apple": modern})}) as server:
        await run_source(hn(server.url, context(), queries=["apple"]), sink, None)
    assert sink.ids == ids(by_query["apple"])


def test_queries_are_required() -> None:
    with pytest.raises(ValueError, match="queries"):
        HackerNewsSource({}, context())


async def test_a_live_source_polls_again_until_stopped() -> None:
    hits = sorted(apple_and_front_page()["hn"], key=lambda h: h["created_at_i"])
    algolia, stop = Algolia({"hn": hits[:30]}), asyncio.Event()

    class Growing(FlakySink):
        async def send(self, page: Page) -> None:
            await super().send(page)
            algolia.by_query["hn"] = hits  # ten more show up after the first poll
            if len(self.ids) >= len(hits):
                stop.set()

    sink = Growing()
    async with serve({"/api/v1/search_by_date": algolia}) as server:
        source = hn(server.url, context(), queries=["hn"], once=False, poll_seconds=0.01)
        await asyncio.wait_for(run_source(source, sink, None, stop=stop), 10)
    assert sink.ids == ids(hits)
