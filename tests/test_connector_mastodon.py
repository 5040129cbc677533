"""The Mastodon connector against local servers that replay the recorded Mastodon.py cassettes.

REST timelines are paged the way Mastodon pages them (`min_id`/`max_id`, Link headers); a request
identical to a recorded one gets the recorded response. SSE streams serve the recorded bodies in
odd-sized chunks (lines arrive split); the WebSocket server sends the same events as frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import json
import logging
import re
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit

import orjson
import pytest
import yaml
from aiohttp import web
from prometheus_client import CollectorRegistry
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as ws_serve

from brandmon.schemas import MENTION_ID, Deletion, Mention
from connectors.checkpoint import CheckpointStore
from connectors.health import SourceMetrics
from connectors.http import RetryPolicy
from connectors.mastodon import MastodonSource
from connectors.mastodon_parse import html_to_text, id_order, mention_id, sse_events, status_mention
from connectors.runner import run_source
from connectors.source import Cursor, Page, SourceContext
from tests.conftest import SHARED
from tests.local_http import Handler, LocalServer, serve
from tests.test_connector_runner import FlakySink

FIXTURES = SHARED / "fixtures" / "mastodon"
RECORDED_ORIGIN = "http://localhost:3000"
ACCOUNT = "117020565966271181"
"""mastodonpy_test, whose "Toot number 0!" .. "9!" test_fetch_next_previous pages through."""
TOKEN = "tok-3f9c-SECRET-never-logged"
Routes = dict[str, Handler | list[web.Response]]


@functools.cache
def _cassette(file: Path) -> list[dict[str, Any]]:
    return cast(list[dict[str, Any]], yaml.safe_load(file.read_text(encoding="utf-8"))["interactions"])


def cassette(name: str) -> list[dict[str, Any]]:
    """A cassette's interactions; skips the test when the shared fixtures are absent."""
    file = FIXTURES / "cassettes" / f"{name}.yaml"
    if not file.exists():
        pytest.skip(f"../shared/fixtures/mastodon not present: {file} (recorded Mastodon.py cassettes)")
    return _cassette(file)


def interactions(name: str, path: str) -> list[dict[str, Any]]:
    """The recorded GETs of `path` in cassette `name`."""
    return [
        i
        for i in cassette(name)
        if i["request"]["method"] == "GET" and urlsplit(i["request"]["uri"]).path.rstrip("/") == path
    ]


def body(interaction: dict[str, Any]) -> str:
    return str(interaction["response"]["body"]["string"])


def statuses(name: str, path: str) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for interaction in interactions(name, path):
        found |= {s["id"]: s for s in json.loads(body(interaction))}
    return sorted(found.values(), key=lambda s: id_order(s["id"]), reverse=True)


def recorded_status(name: str, method: str, path_end: str) -> dict[str, Any]:
    for i in cassette(name):
        if i["request"]["method"] == method and i["request"]["uri"].endswith(path_end):
            return cast(dict[str, Any], json.loads(body(i)))
    raise LookupError(path_end)


def sse_body(name: str, stream: str) -> str:
    return body(interactions(name, f"/api/v1/streaming/{stream}")[0])


class Timeline:
    """A timeline paged as Mastodon pages it (newest first; `min_id` gives the page just above it,
    `max_id` the page below); a request matching a recorded one gets the recorded response."""

    def __init__(self, posts: list[dict[str, Any]], recorded: Sequence[dict[str, Any]] = ()) -> None:
        self.posts = posts
        self.recorded = {frozenset(parse_qsl(urlsplit(i["request"]["uri"]).query)): i for i in recorded}
        self.before: list[web.Response] = []
        """Answers given first, one per request: 429s, broken bodies."""
        self.queries: list[dict[str, str]] = []

    def __call__(self, request: web.Request) -> web.Response:
        self.queries.append(dict(request.query))
        if self.before:
            return self.before.pop(0)
        origin, query = f"http://{request.host}", dict(request.query)
        hit = self.recorded.get(frozenset(query.items()))
        if hit is not None:
            link = hit["response"]["headers"].get("link", [""])[0].replace(RECORDED_ORIGIN, origin)
            return web.Response(text=body(hit), content_type="application/json", headers={"Link": link})
        limit, ordered = int(query.get("limit", 20)), sorted(self.posts, key=_order, reverse=True)
        if "min_id" in query:
            page = [s for s in ordered if _order(s) > id_order(query["min_id"])][-limit:]
        elif "max_id" in query:
            page = [s for s in ordered if _order(s) < id_order(query["max_id"])][:limit]
        else:
            page = ordered[:limit]
        headers = {"x-ratelimit-limit": "300", "x-ratelimit-remaining": "299"}
        if page:
            rest = {k: v for k, v in query.items() if k not in ("min_id", "max_id")}
            older = f"{origin}{request.path}?{urlencode(rest | {'max_id': page[-1]['id']})}"
            newer = f"{origin}{request.path}?{urlencode(rest | {'min_id': page[0]['id']})}"
            headers["Link"] = f'<{older}>; rel="next", <{newer}>; rel="prev"'
        return web.json_response(page, headers=headers)


def _order(status: dict[str, Any]) -> tuple[int, str]:
    return id_order(str(status["id"]))


class SseStream:
    """Each connection gets the next body in 61-byte chunks; all but the last are closed after
    (`on_close` runs first), the last is held open."""

    def __init__(self, *bodies: str, on_close: Callable[[], None] = lambda: None) -> None:
        self.bodies, self.on_close = list(bodies), on_close
        self.before: list[web.Response] = []

    def __call__(self, request: web.Request) -> web.Response:
        if self.before:
            return self.before.pop(0)
        last = len(self.bodies) == 1
        data = (self.bodies[0] if last else self.bodies.pop(0)).encode()

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(data), 61):
                yield data[start : start + 61]
                await asyncio.sleep(0)
            if last:
                await asyncio.Event().wait()  # held open until the server shuts down
            else:
                self.on_close()

        return web.Response(body=chunks(), content_type="text/event-stream")


def instance_v2(request: web.Request) -> web.Response:
    recorded = body(interactions("test_stream_user_direct", "/api/v2/instance")[0])
    return web.Response(text=recorded.replace("ws://localhost:4000", f"ws://{request.host}"))


@dataclass
class WsServer:
    url: str = ""
    paths: list[str] = field(default_factory=list)
    authorization: list[str | None] = field(default_factory=list)
    received: list[str] = field(default_factory=list)


@asynccontextmanager
async def websocket_server(frames: list[str]) -> AsyncIterator[WsServer]:
    state = WsServer()

    async def handler(connection: ServerConnection) -> None:
        state.paths.append(connection.request.path if connection.request else "")
        state.authorization.append(
            connection.request.headers.get("Authorization") if connection.request else None
        )
        for frame in frames:
            await connection.send(frame)
        async for message in connection:
            state.received.append(str(message))

    async with ws_serve(handler, "127.0.0.1", 0) as server:
        state.url = f"ws://127.0.0.1:{next(iter(server.sockets)).getsockname()[1]}"
        yield state


def mastodon(options: dict[str, Any], registry: CollectorRegistry | None = None) -> MastodonSource:
    health = SourceMetrics(registry or CollectorRegistry()).for_source("masto")
    retry = RetryPolicy(base_seconds=0.01, max_seconds=0.05)
    return MastodonSource(options, SourceContext(name="masto", health=health, retry=retry))


async def collect(
    source: MastodonSource,
    until: Callable[[list[Page]], bool],
    cursor: Cursor | None = None,
    settle: float = 0,
) -> list[Page]:
    """Pages until `until` holds, then whatever else comes within `settle` seconds."""
    pages: list[Page] = []
    stream = cast(AsyncGenerator[Page, None], source.pages(cursor))
    try:
        async with asyncio.timeout(5):
            async for page in stream:
                pages.append(page)
                if until(pages):
                    break
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(settle):
                async for page in stream:
                    pages.append(page)
    finally:
        await stream.aclose()
    return pages


def mentions(pages: list[Page]) -> list[Mention]:
    return [m for page in pages for m in page.mentions]


def deletions(pages: list[Page]) -> list[Deletion]:
    return [d for page in pages for d in page.deletions]


def rows(found: list[Mention]) -> list[tuple[Any, ...]]:
    return [
        (
            m.id,
            m.text,
            m.created_at.isoformat(),
            m.author.id,
            m.author.handle,
            m.author.followers,
            m.lang_declared,
        )
        for m in found
    ]


def errors(registry: CollectorRegistry, kind: str) -> float | None:
    return registry.get_sample_value("brandmon_source_errors_total", {"source": "masto", "kind": kind})


def host(server: LocalServer) -> str:
    return server.url.removeprefix("http://")


# Pure rules, no fixtures needed.


def test_html_becomes_one_line_of_text_with_links_whole() -> None:
    html = (
        '<p><span class="h-card"><a href="https://x.test/@ann" class="u-url mention">@<span>ann</span></a>'
        '</span> it&#39;s <a href="https://x.test/tags/acme" class="mention hashtag">#<span>Acme</span></a>'
        '</p><p>line<br />break <a href="https://cstudios.bandcamp.com/track/x"><span class="invisible">'
        'https://</span><span class="ellipsis">cstudios.bandcamp.com/tr</span><span class="invisible">ack/x'
        "</span></a></p>"
    )
    assert html_to_text(html) == "@ann it's #Acme line break https://cstudios.bandcamp.com/track/x"


def test_ids_carry_the_instance_host_and_stay_printable_ascii() -> None:
    assert mention_id("mastodon.social", "1170") == "mastodon:mastodon.social/1170"
    odd = mention_id("xn--bcher-kva.de", "a b/é%")
    assert odd == "mastodon:xn--bcher-kva.de/a%20b/%C3%A9%25"
    assert re.fullmatch(MENTION_ID, odd)


async def test_sse_parser_joins_data_lines_skips_heartbeats_and_drops_a_cut_off_event() -> None:
    async def lines() -> AsyncIterator[str]:
        for line in [":)", "event: update", "data: {", 'data: "id": "1"}', "", ":thump", "event: delete"]:
            yield line
        yield "data: 12"  # the stream ends before the blank line that would dispatch it

    events = [e async for e in sse_events(lines())]
    assert [(e.name, e.payload) for e in events] == [("update", '{\n"id": "1"}')]


def test_options_are_checked_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    base: dict[str, Any] = {"instance": "https://mastodon.example"}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"instance": ""}, "needs `instance`"),
        ({"mode": "push"}, "neither stream nor poll"),
        ({"stream": "firehose"}, "not one of"),
        ({"stream": "hashtag"}, "needs `tags"),
        ({"transport": "grpc"}, "neither sse nor websocket"),
        ({"mode": "poll", "timelines": ["trending"]}, "not one of"),
        ({"token_env": "MASTODON_TEST_NO_SUCH_TOKEN"}, "MASTODON_TEST_NO_SUCH_TOKEN"),
    ]
    for bad, message in cases:
        with pytest.raises(ValueError, match=message):
            mastodon(base | bad)
    monkeypatch.setenv("MASTODON_TEST_TOKEN", TOKEN)
    assert mastodon(base | {"token_env": "MASTODON_TEST_TOKEN"}).host == "mastodon.example"


# REST timelines (poll mode, and the catch-up streams run on every connection).

PUBLIC = [  # test_public_tl, oldest first: (id, text, created_at, account id, acct, followers, language)
    ("117020574694606796", "I have never stolen a ham in my life.", "2026-08-01T13:51:05.238000+00:00",
     "117020565693913441", "admin", 1, "en"),
    ("117020582721532745", "nice", "2026-08-01T13:53:07.719000+00:00",
     "117020565693913441", "admin", 1, "en"),
    ("117020586180926938", "the best editor? why, of course it is the KDE Advanced Text Editor, Kate",
     "2026-08-01T13:54:00.505000+00:00", "117020566092212359", "mastodonpy_test_2", 0, "ja"),
    ("117020588169351887", "@mastodonpy_test beep beep I'm a jeep", "2026-08-01T13:54:30.847000+00:00",
     "117020565693913441", "admin", 1, "en"),
    ("117020588242324937", "on the internet, nobody knows you're a plane", "2026-08-01T13:54:31.959000+00:00",
     "117020565693913441", "admin", 1, "en"),
    ("117020590477318485", "it's cool guy too", "2026-08-01T13:55:06.063000+00:00",
     "117020565693913441", "admin", 1, "en"),
    ("117020592137523525", "you can't say that on television", "2026-08-01T13:55:31.396000+00:00",
     "117020565693913441", "admin", 1, "en"),
    ("117020593378945190", "Toot, finally!", "2026-08-01T13:55:50.338000+00:00",
     "117020566092212359", "mastodonpy_test_2", 0, "ja"),
]  # fmt: skip
HOOT = ("117020593741189701", "#hoot (hashtag toot)", "2026-08-01T13:55:55.867000+00:00",
        "117020566092212359", "mastodonpy_test_2", 0, "ja")  # fmt: skip


def expected(server: LocalServer, recorded: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    h = host(server)
    return [
        (f"mastodon:{h}/{i}", text, at, who, f"@{acct}@{h}", n, lang)
        for i, text, at, who, acct, n, lang in recorded
    ]


def public_timeline() -> Timeline:
    return Timeline(statuses("test_public_tl", "/api/v1/timelines/public"))


@pytest.mark.shared
async def test_polling_public_and_tag_timelines_gives_exactly_the_recorded_posts() -> None:
    hoot = Timeline(statuses("test_hashtag_tl", "/api/v1/timelines/tag/hoot"))
    async with serve(
        {"/api/v1/timelines/public": public_timeline(), "/api/v1/timelines/tag/hoot": hoot}
    ) as server:
        options = {
            "instance": server.url,
            "mode": "poll",
            "timelines": ["public", "tag/hoot"],
            "poll_seconds": 0.01,
        }
        pages = await collect(mastodon(options), until=lambda pages: len(pages) >= 6)
    found = mentions(pages)
    assert rows(found) == expected(server, [*PUBLIC, HOOT])
    assert all(m.source == "mastodon" and m.edited_at is None for m in found)  # 1170205861809 was edited
    assert found[0].url == "http://localhost:3000/@admin/117020574694606796"  # before we first saw it
    assert found[0].engagement.model_dump() == {"likes": 0, "reshares": 0, "replies": 0}
    assert pages[-1].cursor is not None
    assert set(pages[-1].cursor["feeds"]) == {"public", "tag/hoot"}


@pytest.mark.shared
async def test_min_id_paging_follows_the_recorded_link_header() -> None:
    path = f"/api/v1/accounts/{ACCOUNT}/statuses"
    toots = Timeline(
        statuses("test_fetch_next_previous", path), interactions("test_fetch_next_previous", path)
    )
    toot4 = "117020580481736214"  # the recorded `min_id` request starts above "Toot number 4!"
    async with serve({path: toots}) as server:
        options = {"instance": server.url, "mode": "poll", "timelines": [f"account/{ACCOUNT}"], "limit": 5,
                   "overlap": 0, "visibility": ["public", "unlisted"]}  # fmt: skip
        cursor = {"feeds": {f"account/{ACCOUNT}": {toot4: ""}}}
        pages = await collect(mastodon(options), until=lambda pages: len(pages) >= 2, cursor=cursor)
    assert [m.text for m in mentions(pages)] == [f"Toot number {n}!" for n in range(5, 10)]
    assert toots.queries == [
        {"limit": "5", "min_id": toot4},  # answered from the recording, Link and all
        {"limit": "5", "min_id": "117020580518794573"},  # its rel="prev": nothing newer
    ]


@pytest.mark.shared
async def test_the_overlap_repoll_publishes_late_posts_and_edits_and_nothing_else() -> None:
    timeline = public_timeline()
    async with serve({"/api/v1/timelines/public": timeline}) as server:
        source = mastodon({"instance": server.url, "mode": "poll", "poll_seconds": 0.01, "overlap": 5})
        stream = cast(AsyncGenerator[Page, None], source.pages(None))
        first = await anext(stream)
        late = copy.deepcopy(timeline.posts[2]) | {"id": "117020589000000000", "content": "<p>late toot</p>"}
        edited = copy.deepcopy(timeline.posts[1]) | {"edited_at": "2026-08-01T14:00:00.000Z"}
        edited["content"] = "<p>you CAN say that on television</p>"
        timeline.posts[1:2] = [edited, late]
        later = [await anext(stream) for _ in range(2)]
        await stream.aclose()
    assert len(first.mentions) == 8
    assert timeline.queries[1]["min_id"] == "117020586180926938"  # the 6th newest: 5 re-read
    found = mentions(later)
    assert [(m.id.rsplit("/", 1)[1], m.text, m.edited_at) for m in found] == [
        ("117020589000000000", "late toot", None),  # late (an id below ones read): new, no edited_at
        ("117020592137523525", "you CAN say that on television", datetime(2026, 8, 1, 14, tzinfo=UTC)),
    ]


@pytest.mark.shared
async def test_429_with_and_without_retry_after_loses_nothing() -> None:
    registry, timeline = CollectorRegistry(), public_timeline()
    timeline.before = [web.Response(status=429, headers={"Retry-After": "0"}), web.Response(status=429)]
    async with serve({"/api/v1/timelines/public": timeline}) as server:
        source = mastodon({"instance": server.url, "mode": "poll", "poll_seconds": 0.01}, registry)
        pages = await collect(source, until=lambda pages: len(pages) >= 1)
    assert rows(mentions(pages)) == expected(server, PUBLIC)
    assert errors(registry, "rate_limited") == 2


@pytest.mark.shared
async def test_broken_bodies_and_statuses_are_skipped_and_the_rest_published() -> None:
    registry, timeline = CollectorRegistry(), public_timeline()
    timeline.posts.append({"id": "117020593999999999", "account": None, "visibility": "public"})
    timeline.posts.append({"id": "117020594000000000", "created_at": "yesterday", "visibility": "public",
                           "account": {"id": "1", "acct": "x"}})  # fmt: skip
    timeline.before = [web.Response(text='[{"id": "1170205', content_type="application/json")]
    async with serve({"/api/v1/timelines/public": timeline}) as server:
        source = mastodon({"instance": server.url, "mode": "poll", "poll_seconds": 0.01}, registry)
        pages = await collect(source, until=lambda pages: len(pages) >= 1)
    assert rows(mentions(pages)) == expected(server, PUBLIC)
    assert errors(registry, "parse") == 3  # the cut-off body, then two unreadable statuses


@pytest.mark.shared
async def test_a_restart_through_the_runner_has_no_gap_and_no_duplicate(tmp_path: Path) -> None:
    path = f"/api/v1/accounts/{ACCOUNT}/statuses"
    toots = Timeline(statuses("test_fetch_next_previous", path))
    ids = [s["id"] for s in sorted(toots.posts, key=_order)]
    store = CheckpointStore(tmp_path / "cursors")
    store.save("masto", {"feeds": {f"account/{ACCOUNT}": {ids[0]: ""}}})  # "Toot number 0!" was read
    async with serve({path: toots}) as server:
        options = {"instance": server.url, "mode": "poll", "timelines": [f"account/{ACCOUNT}"], "limit": 3,
                   "overlap": 2, "poll_seconds": 0.01, "visibility": ["public", "unlisted"]}  # fmt: skip
        first = FlakySink(fail_after=1)
        with pytest.raises(ConnectionError):
            await run_source(mastodon(options), first, store)
        second = FlakySink()
        async with asyncio.timeout(5):
            await run_source(mastodon(options), second, store, limit=6)
    assert first.ids + second.ids == [f"mastodon:{host(server)}/{i}" for i in ids[1:]]


@pytest.mark.shared
async def test_a_boost_is_published_as_its_original_once() -> None:
    toot = recorded_status("test_status_reblog_unreblog", "POST", "/api/v1/statuses")
    boost = recorded_status("test_status_reblog_unreblog", "POST", "/reblog")
    async with serve({"/api/v1/timelines/home": Timeline([toot, boost])}) as server:
        options = {"instance": server.url, "mode": "poll", "timelines": ["home"],
                   "visibility": ["public", "unlisted"], "poll_seconds": 0.01}  # fmt: skip
        pages = await collect(mastodon(options), until=lambda pages: len(pages) >= 3)
    (found,) = mentions(pages)
    assert (found.id, found.text, found.author.handle, found.lang_declared) == (
        f"mastodon:{host(server)}/117020586019094258",
        "Toot!",
        f"@mastodonpy_test@{host(server)}",
        "en",
    )
    assert found.engagement.reshares == 0  # as first read: the post, before the boost came by
    wrapper = status_mention(boost, "h", found.fetched_at, visibility=["unlisted"])
    assert wrapper is not None
    assert wrapper.id == "mastodon:h/117020586019094258"
    assert status_mention(boost, "h", found.fetched_at) is None  # unlisted is not wanted by default


# Streams.

USER_STREAM = [  # test_stream_user_direct, /api/v1/streaming/user: update, status.update, delete
    ("117024236332527350", "only real cars respond.", None),
    ("117024236332527350", "only real animals respond.", "2026-08-02T05:22:24.192000+00:00"),
]


def stream_rows(found: list[Mention]) -> list[tuple[Any, ...]]:
    return [(m.id.rsplit("/", 1)[1], m.text, m.edited_at and m.edited_at.isoformat()) for m in found]


@pytest.mark.shared
async def test_sse_user_stream_gives_posts_edits_and_deletes_but_no_direct_messages(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    registry, stream = CollectorRegistry(), SseStream(sse_body("test_stream_user_direct", "user"))
    stream.before = [web.Response(status=429, headers={"Retry-After": "0"}), web.Response(status=503)]
    (tmp_path / "token").write_text(TOKEN + "\n")
    routes: Routes = {
        "/api/v2/instance": instance_v2,
        "/api/v1/timelines/home": Timeline([]),
        "/api/v1/streaming/user": stream,
    }
    async with serve(routes) as server:
        source = mastodon(
            {"instance": server.url, "stream": "user", "token_file": str(tmp_path / "token")}, registry
        )
        pages = await collect(source, until=lambda pages: bool(deletions(pages)), settle=0.2)
    found = mentions(pages)
    assert stream_rows(found) == USER_STREAM
    assert found[0].author.handle == f"@mastodonpy_test@{host(server)}"
    assert found[0].lang_declared == "ja"
    assert [d.id for d in deletions(pages)] == [f"mastodon:{host(server)}/117024236332527350"]
    assert (errors(registry, "rate_limited"), errors(registry, "http_5xx")) == (1, 1)
    assert {r.headers.get("Authorization") for r in server.requests} == {f"Bearer {TOKEN}"}
    assert TOKEN not in caplog.text + str([str(r.url) for r in server.requests]) + str(pages[-1].cursor)


@pytest.mark.shared
async def test_an_sse_reconnect_catches_up_the_gap_from_the_timeline() -> None:
    recorded = sse_body("test_stream_user_local", "user")
    gap = json.loads(next(line for line in recorded.splitlines() if line.startswith("data: "))[6:])
    home = Timeline([])
    stream = SseStream(
        sse_body("test_stream_user_direct", "user"),  # ends: the connection drops
        sse_body("test_stream_user_local", "user"),  # ":)" then the post made during the gap, again
        on_close=lambda: home.posts.append(gap),
    )
    routes: Routes = {"/api/v1/timelines/home": home, "/api/v1/streaming/user": stream}
    async with serve(routes) as server:
        source = mastodon({"instance": server.url, "stream": "user", "streaming_url": server.url})
        pages = await collect(source, until=lambda pages: len(mentions(pages)) >= 3, settle=0.2)
    assert stream_rows(mentions(pages)) == [*USER_STREAM, ("117024248092393661", "it's cool guy", None)]
    assert home.queries[1] == {"limit": "40", "min_id": "117024236332527350"}
    assert len(deletions(pages)) == 1


@pytest.mark.shared
async def test_broken_and_cut_off_sse_events_are_skipped() -> None:
    registry, recorded = CollectorRegistry(), sse_body("test_stream_user_local", "user")
    broken = recorded.replace(":)\n", ':)\nevent: update\ndata: {"id": "1170242480", "content"\n\n', 1)
    stream = SseStream(broken + 'event: update\ndata: {"id":"117024248092393662","crea')
    routes: Routes = {"/api/v1/timelines/home": Timeline([]), "/api/v1/streaming/user": stream}
    async with serve(routes) as server:
        source = mastodon({"instance": server.url, "stream": "user", "streaming_url": server.url}, registry)
        pages = await collect(source, until=lambda pages: bool(mentions(pages)), settle=0.2)
    assert stream_rows(mentions(pages)) == [("117024248092393661", "it's cool guy", None)]
    assert errors(registry, "parse") == 1


def ws_frames(name: str) -> list[str]:
    """The recorded user-stream events in Mastodon's WebSocket envelope (derived/, see its README)."""
    file = FIXTURES / "derived" / f"{name}__api_v1_streaming_user.ws.jsonl"
    if not file.exists():
        pytest.skip(f"../shared/fixtures/mastodon not present: {file} (WebSocket frames of the cassettes)")
    return file.read_text(encoding="utf-8").splitlines()


@pytest.mark.shared
async def test_websocket_user_stream_sends_the_token_only_in_a_header(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("MASTODON_TEST_TOKEN", TOKEN)
    async with (
        serve({"/api/v1/timelines/home": Timeline([])}) as server,
        websocket_server(ws_frames("test_stream_user_direct")) as ws,
    ):
        options = {"instance": server.url, "stream": "user", "transport": "websocket",
                   "streaming_url": ws.url, "token_env": "MASTODON_TEST_TOKEN"}  # fmt: skip
        pages = await collect(mastodon(options), until=lambda pages: bool(deletions(pages)), settle=0.2)
    assert stream_rows(mentions(pages)) == USER_STREAM
    assert [d.id for d in deletions(pages)] == [f"mastodon:{host(server)}/117024236332527350"]
    assert ws.paths == ["/api/v1/streaming?stream=user"]
    assert ws.authorization == [f"Bearer {TOKEN}"]
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("websockets.server")]
    assert any(r.name.startswith(("httpx", "httpcore")) for r in caplog.records)  # DEBUG logging was on
    assert TOKEN not in str(ours) + str(pages[-1].cursor)  # (the test's own server logs it)


@pytest.mark.shared
async def test_websocket_subscribes_every_tag_and_files_frames_under_their_feed() -> None:
    (hoot,) = statuses("test_hashtag_tl", "/api/v1/timelines/tag/hoot")
    frame = orjson.dumps(
        {"stream": ["hashtag", "hoot"], "event": "update", "payload": json.dumps(hoot)}
    ).decode()
    tags: Routes = {"/api/v1/timelines/tag/acme": Timeline([]), "/api/v1/timelines/tag/hoot": Timeline([])}
    async with serve(tags) as server, websocket_server([frame]) as ws:
        options = {"instance": server.url, "stream": "hashtag", "tags": ["acme", "#hoot"],
                   "transport": "websocket", "streaming_url": ws.url}  # fmt: skip
        pages = await collect(mastodon(options), until=lambda pages: bool(mentions(pages)), settle=0.1)
    assert rows(mentions(pages)) == expected(server, [HOOT])
    assert ws.paths == ["/api/v1/streaming?stream=hashtag&tag=acme"]
    assert [json.loads(m) for m in ws.received] == [{"type": "subscribe", "stream": "hashtag", "tag": "hoot"}]
    assert pages[-1].cursor == {"feeds": {"tag/acme": {}, "tag/hoot": {HOOT[0]: ""}}}


@pytest.mark.shared
async def test_sse_opens_one_stream_per_tag_and_files_posts_under_their_feed() -> None:
    (hoot,) = statuses("test_hashtag_tl", "/api/v1/timelines/tag/hoot")
    streams = {
        "hoot": SseStream(f":)\nevent: update\ndata: {json.dumps(hoot)}\n\n"),
        "acme": SseStream(":)\n"),
    }
    tags: Routes = {
        "/api/v1/timelines/tag/acme": Timeline([]),
        "/api/v1/timelines/tag/hoot": Timeline([]),
        "/api/v1/streaming/hashtag": lambda request: streams[request.query["tag"]](request),
    }
    async with serve(tags) as server:
        options = {
            "instance": server.url,
            "stream": "hashtag",
            "tags": ["acme", "hoot"],
            "streaming_url": server.url,
        }
        pages = await collect(mastodon(options), until=lambda pages: bool(mentions(pages)), settle=0.1)
        opened = sorted(r.query["tag"] for r in server.requests if r.path == "/api/v1/streaming/hashtag")
    assert rows(mentions(pages)) == expected(server, [HOOT])
    assert opened == ["acme", "hoot"]
    assert pages[-1].cursor == {"feeds": {"tag/acme": {}, "tag/hoot": {HOOT[0]: ""}}}
