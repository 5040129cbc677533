"""Reddit connector against local servers replaying the real asyncpraw/asyncprawcore cassettes.

`Reddit` answers the token endpoint and listings from recorded interactions: a listing request
gets the recorded response with the same path and `before`/`after`, else the recorded empty
listing. Served bodies are verbatim except where a test says "derived" (a search recorded with
`sort=relevance` served for `sort=new`; edited things from an edit response wrapped in a Listing).
`Paged` serves real recorded things the way Reddit pages them, for bursts and vanished cursors.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from brandmon.schemas import Mention
from connectors import reddit
from connectors.checkpoint import CheckpointStore
from connectors.health import SourceMetrics
from connectors.http import RetryPolicy
from connectors.reddit import RedditAuthError, RedditSource
from connectors.runner import run_source
from connectors.source import Page
from tests.conftest import SHARED
from tests.local_http import serve
from tests.test_connector_hackernews import QuickContext

pytestmark = pytest.mark.shared
CASSETTES = SHARED / "fixtures" / "reddit"
SUBMISSIONS = "asyncpraw_cassettes/TestSubredditStreams.test_submissions.json"
COMMENTS = "asyncpraw_cassettes/TestSubredditStreams.test_comments__with_skip_existing.json"
TOKEN = "asyncprawcore_cassettes/TestReadOnlyAuthorizer.test_refresh.json"
EMPTY = "asyncpraw_cassettes/TestListingGenerator.test_no_items.json"
SECRET = "s3cr3t-do-not-log"
KEPT_HEADERS = (
    "content-type",
    "retry-after",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "x-ratelimit-used",
)


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    status: int
    headers: dict[str, str]
    body: str

    def response(self) -> web.Response:
        return web.Response(status=self.status, headers=self.headers, body=self.body.encode())

    def json(self) -> Any:
        return json.loads(self.body)


def cassette(name: str) -> list[Recorded]:
    path = CASSETTES / name
    if not path.is_file():
        pytest.skip(f"shared Reddit cassettes not found at {path} (the ../shared checkout)")
    recorded = []
    for interaction in json.loads(path.read_text())["interactions"]:
        request, response = interaction["request"], interaction["response"]
        url = urlsplit(request["uri"])
        headers = {
            k: v[0] if isinstance(v, list) else v
            for k, v in response["headers"].items()
            if k.lower() in KEPT_HEADERS
        }
        recorded.append(
            Recorded(
                request["method"],
                url.path.rstrip("/") or "/",
                dict(parse_qsl(url.query)),
                response["status"]["code"],
                headers,
                response["body"]["string"],
            )
        )
    return recorded


def names(listing: Any) -> list[str]:
    """Fullnames of a recorded listing, oldest first (as published)."""
    return [child["data"]["name"] for child in reversed(listing["data"]["children"])]


def ids(fullnames: list[str]) -> list[str]:
    return [f"reddit:{name}" for name in fullnames]


@dataclass
class Reddit:
    """Token endpoint and listings from recordings; `failures[path]` are answered first."""

    listings: dict[tuple[str, str | None], Recorded]
    token: Recorded = field(default_factory=lambda: cassette(TOKEN)[0])
    empty: Recorded = field(default_factory=lambda: cassette(EMPTY)[2])
    failures: dict[str, list[web.Response]] = field(default_factory=dict)

    @classmethod
    def of(cls, *recordings: Recorded) -> Reddit:
        return cls({(r.path, r.query.get("before") or r.query.get("after")): r for r in recordings})

    def __call__(self, request: web.Request) -> web.Response:
        path = request.path.rstrip("/")
        if self.failures.get(path):
            return self.failures[path].pop(0)
        if path == "/api/v1/access_token":
            return self.token.response()
        cursor = request.query.get("before") or request.query.get("after")
        return self.listings.get((path, cursor), self.empty).response()

    def routes(self, *subreddits: str) -> dict[str, Any]:
        """Handlers for the token endpoint, the recorded listings and both listings of `subreddits`."""
        paths = {"/api/v1/access_token", "/search", *(path for path, _ in self.listings)}
        paths |= {f"/r/{s}/{part}" for s in subreddits for part in ("new", "comments")}
        return dict.fromkeys(paths, self)


class Sink:
    def __init__(self, fail_after: int | None = None) -> None:
        self.ids: list[str] = []
        self.deleted: list[str] = []
        self.mentions: dict[str, Mention] = {}
        self.fail_after, self.pages = fail_after, 0

    async def send(self, page: Page) -> None:
        if self.fail_after is not None and self.pages >= self.fail_after:
            raise ConnectionError("broker unavailable")
        self.pages += 1
        self.ids += [m.id for m in page.mentions]
        self.mentions |= {m.id: m for m in page.mentions}
        self.deleted += [d.id for d in page.deletions]


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("TEST_REDDIT_ID", "app-id")
    monkeypatch.setenv("TEST_REDDIT_SECRET", SECRET)
    return {"client_id_env": "TEST_REDDIT_ID", "client_secret_env": "TEST_REDDIT_SECRET"}


def source(url: str, ctx: QuickContext | None = None, **options: Any) -> RedditSource:
    ctx = ctx or context()
    base = {
        "user_agent": "test:brandmon:0.1 (by /u/brandmon)",
        "auth_url": url,
        "oauth_url": url,
        "once": True,
    }
    base |= {"client_id_env": "TEST_REDDIT_ID", "client_secret_env": "TEST_REDDIT_SECRET"}
    return RedditSource(base | options, ctx)


def context(registry: CollectorRegistry | None = None) -> QuickContext:
    health = SourceMetrics(registry or CollectorRegistry()).for_source("reddit")
    return QuickContext(name="reddit", health=health, retry=RetryPolicy(base_seconds=0.01))


@pytest.mark.parametrize(
    ("name", "subreddit", "listing"), [(SUBMISSIONS, "all", "new"), (COMMENTS, "askreddit", "comments")]
)
async def test_a_listing_is_followed_with_the_before_cursor_across_a_restart(
    name: str, subreddit: str, listing: str, credentials: dict[str, str], tmp_path: Path
) -> None:
    _, newest, newer = cassette(name)
    server_side = Reddit.of(newest, newer)
    store, first, second = CheckpointStore(tmp_path), Sink(), Sink()
    async with serve(server_side.routes(subreddit)) as server:
        await run_source(source(server.url, subreddits=[subreddit]), first, store)
        await run_source(source(server.url, subreddits=[subreddit]), second, store)
        asked = [r for r in server.requests if r.path.endswith(f"/{listing}")]
        token_requests = [r for r in server.requests if r.path == "/api/v1/access_token"]
    assert first.ids == ids(names(newest.json()))
    assert second.ids == ids(names(newer.json()))
    assert [dict(r.query) for r in asked] == [
        {"limit": "100", "raw_json": "1"},
        {"limit": "100", "raw_json": "1", "before": newer.query["before"]},
    ]
    assert {r.headers["Authorization"] for r in asked} == {"bearer <ACCESS_TOKEN>"}
    assert {r.headers["User-Agent"] for r in server.requests} == {"test:brandmon:0.1 (by /u/brandmon)"}
    basic = base64.b64encode(f"app-id:{SECRET}".encode()).decode()
    assert {r.headers["Authorization"] for r in token_requests} == {f"Basic {basic}"}
    assert {r.content_type for r in token_requests} == {"application/x-www-form-urlencoded"}


async def test_a_crash_mid_poll_resumes_with_no_gap_no_duplicate_and_no_secret_anywhere(
    credentials: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _, all_new, all_newer = cassette(SUBMISSIONS)
    _, ask_new, ask_newer = cassette(COMMENTS)
    server_side, store = Reddit.of(all_new, all_newer, ask_new, ask_newer), CheckpointStore(tmp_path)
    sinks = [Sink(fail_after=1), Sink(), Sink()]
    async with serve(server_side.routes("all", "askreddit")) as server:
        options: dict[str, Any] = {"subreddits": ["all", "askreddit"]}
        with pytest.raises(ConnectionError):
            await run_source(source(server.url, **options), sinks[0], store)
        for sink in sinks[1:]:
            await run_source(source(server.url, **options), sink, store)
    published = [i for sink in sinks for i in sink.ids]
    expected = [names(r.json()) for r in (all_new, all_newer, ask_new, ask_newer)]
    assert published == ids([n for part in expected for n in part])
    cursor_text = (tmp_path / "reddit.json").read_text()
    for secret in (SECRET, "<ACCESS_TOKEN>"):
        assert secret not in cursor_text
        assert secret not in caplog.text


async def test_search_results_carry_their_edits(credentials: dict[str, str]) -> None:
    _, recorded = cassette("asyncpraw_cassettes/TestSubreddit.test_search.json")
    recorded.path, recorded.query = "/search", {}  # derived: recorded for sort=relevance
    sink = Sink()
    async with serve(Reddit.of(recorded).routes()) as server:
        await run_source(source(server.url, searches=["praw oauth search"]), sink, None)
        (asked,) = [dict(r.query) for r in server.requests if r.path == "/search"]
    children = [c["data"] for c in recorded.json()["data"]["children"]]
    assert sink.ids == ids(names(recorded.json()))
    assert asked == {"q": "praw oauth search", "sort": "new", "limit": "100", "raw_json": "1"}
    edited = {
        f"reddit:{c['name']}": datetime.fromtimestamp(c["edited"], UTC) for c in children if c["edited"]
    }
    assert len(edited) == 13
    assert {i: m.edited_at for i, m in sink.mentions.items() if m.edited_at} == edited
    first = sink.mentions["reddit:t3_6ganxe"]
    assert first.text.startswith(children[0]["title"] + "\n\n" + children[0]["selftext"][:20])
    assert first.author.handle == "u/cheesycow5"
    assert first.url == "https://www.reddit.com" + children[0]["permalink"]
    assert first.engagement.replies == children[0]["num_comments"]


async def test_deleted_and_removed_items_become_deletions_and_edits_keep_their_id(
    credentials: dict[str, str],
) -> None:
    def info(name: str) -> Recorded:
        return cassette(f"asyncpraw_cassettes/{name}.json")[1]

    deleted, removed, kept = (
        info("TestComment.test_refresh__deleted_comment"),
        info("TestComment.test_refresh__removed_comment"),
        info("TestComment.test_attributes"),
    )
    edit = info("TestComment.test_edit")  # derived: the edit response's things wrapped in a Listing
    edit.body = json.dumps({"kind": "Listing", "data": {"children": edit.json()["json"]["data"]["things"]}})
    post = cassette("asyncpraw_cassettes/TestSubmission.test_delete.json")[2]
    post.body = json.dumps(post.json()[0])  # the submission listing of /comments/<id>
    for recording, path in [
        (deleted, "/r/test/comments"),
        (removed, "/r/pics/comments"),
        (kept, "/r/redditdev/comments"),
        (edit, "/r/Lil_SpazJoekp/comments"),
        (post, "/r/test/new"),
    ]:
        recording.path, recording.query = path, {}
    subreddits = ["test", "pics", "redditdev", "Lil_SpazJoekp"]
    sink = Sink()
    async with serve(Reddit.of(deleted, removed, kept, edit, post).routes(*subreddits)) as server:
        await run_source(source(server.url, subreddits=subreddits), sink, None)
    assert sorted(sink.deleted) == ["reddit:t1_d7ltvl0", "reddit:t1_fx1hmwb", "reddit:t3_hmkbt8"]
    assert sorted(sink.ids) == ["reddit:t1_cklhv0f", "reddit:t1_fwxxs5d"]
    edited = sink.mentions["reddit:t1_fwxxs5d"]
    assert (edited.text, edited.edited_at) == ("New text", datetime.fromtimestamp(1593983687, UTC))
    comment = sink.mentions["reddit:t1_cklhv0f"]
    assert comment.reply_to == "reddit:t1_cklfmye"
    assert comment.author.handle == "u/bboe"
    assert comment.text.startswith("Yes it does. That fix is also in the master branch, we just haven't")


FAILURES = [
    (
        "asyncprawcore_cassettes/TestSession.test_request__too__many_requests__with_retry_headers.json",
        1,
        "/r/all/new",
    ),
    (
        "asyncprawcore_cassettes/TestSession.test_request__too__many_requests__without_retry_headers.json",
        0,
        "/api/v1/access_token",
    ),
    ("asyncprawcore_cassettes/TestSession.test_request__service_unavailable.json", 1, "/r/all/new"),
]


@pytest.mark.parametrize(("name", "index", "path"), FAILURES, ids=["429-retry-after", "429-token", "503x3"])
async def test_rate_limits_and_outages_are_waited_out_and_lose_nothing(
    name: str, index: int, path: str, credentials: dict[str, str]
) -> None:
    failing = [r for r in cassette(name)[index:] if r.status >= 400]
    _, newest, _ = cassette(SUBMISSIONS)
    server_side, registry = Reddit.of(newest), CollectorRegistry()
    server_side.failures[path] = [r.response() for r in failing]
    ctx, sink = context(registry), Sink()
    async with serve(server_side.routes("all")) as server:
        await run_source(source(server.url, ctx, subreddits=["all"]), sink, None)
    assert sink.ids == ids(names(newest.json()))
    assert len(ctx.waits) == len(failing)
    if "Retry-After" in failing[0].headers:
        assert ctx.waits == [2.0]
    else:
        assert 0.005 <= ctx.waits[0] <= 0.01
    kind = "rate_limited" if failing[0].status == 429 else "http_5xx"
    labels = {"source": "reddit", "kind": kind}
    assert registry.get_sample_value("brandmon_source_errors_total", labels) == len(failing)


class Paged:
    """A listing of real recorded things, newest first, paged by `limit`/`before`/`after` as Reddit does."""

    def __init__(self, things: list[Any]) -> None:
        self.things = things

    def __call__(self, request: web.Request) -> web.Response:
        query, order = request.query, [t["data"]["name"] for t in self.things]
        limit = int(query["limit"])
        if "before" in query:
            end = order.index(query["before"]) if query["before"] in order else 0
            start = max(0, end - limit)
        else:
            start = order.index(query["after"]) + 1 if "after" in query else 0
            end = start + limit
        page = self.things[start:end]
        after = page[-1]["data"]["name"] if page and end < len(self.things) else None
        return web.json_response(
            {"kind": "Listing", "data": {"children": page, "after": after, "before": None}}
        )


def recorded_things() -> list[Any]:
    """The 107 submissions of the stream cassette, newest first."""
    _, newest, newer = cassette(SUBMISSIONS)
    return [*newer.json()["data"]["children"], *newest.json()["data"]["children"]]


async def test_a_burst_is_read_page_by_page_from_the_before_cursor(
    credentials: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reddit, "LIMIT", 10)
    things = recorded_things()
    listing, store, first, second = Paged(things[-20:]), CheckpointStore(tmp_path), Sink(), Sink()
    routes = Reddit.of().routes() | {"/r/all/new": listing, "/r/all/comments": Paged([])}
    async with serve(routes) as server:
        await run_source(source(server.url, subreddits=["all"]), first, store)
        listing.things = things  # 87 more arrive
        await run_source(source(server.url, subreddits=["all"]), second, store)
    fullnames = [t["data"]["name"] for t in reversed(things)]
    assert first.ids == ids(fullnames[10:20])
    assert second.ids == ids(fullnames[20:])
    assert second.pages == 9


async def test_when_the_cursor_item_vanishes_the_newest_pages_are_read_back_to_a_seen_item(
    credentials: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reddit, "LIMIT", 10)
    things = recorded_things()
    listing, store = Paged(things[-30:]), CheckpointStore(tmp_path)
    routes = Reddit.of().routes() | {"/r/all/new": listing, "/r/all/comments": Paged([])}
    sinks = [Sink(), Sink(), Sink()]
    async with serve(routes) as server:
        await run_source(source(server.url, subreddits=["all"]), sinks[0], store)
        newest = things[-30]["data"]["name"]
        listing.things = [t for t in things[-65:] if t["data"]["name"] != newest]  # deleted; 35 arrive
        for sink in sinks[1:]:
            await run_source(source(server.url, subreddits=["all"]), sink, store)
        befores = [r.query.get("before") for r in server.requests if r.path == "/r/all/new"]
    fullnames = [t["data"]["name"] for t in reversed(things)]
    assert sinks[0].ids == ids(fullnames[20:30])
    assert sinks[1].ids == []  # `before` names a deleted item: Reddit answers nothing
    assert sinks[2].ids == ids(fullnames[30:65])
    assert befores[:3] == [None, newest, None]


async def test_an_expired_token_is_renewed_once(credentials: dict[str, str]) -> None:
    _, newest, _ = cassette(SUBMISSIONS)
    server_side = Reddit.of(newest)
    server_side.failures["/r/all/new"] = [web.Response(status=401)]
    sink = Sink()
    async with serve(server_side.routes("all")) as server:
        await run_source(source(server.url, subreddits=["all"]), sink, None)
        tokens = [r for r in server.requests if r.path == "/api/v1/access_token"]
    assert sink.ids == ids(names(newest.json()))
    assert len(tokens) == 2


async def test_refused_credentials_fail_clearly_without_the_secret(
    credentials: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server_side = Reddit.of()
    server_side.failures["/api/v1/access_token"] = [
        web.Response(status=401, text='{"error": "invalid_grant"}')
    ]
    store = CheckpointStore(tmp_path)
    async with serve(server_side.routes("all")) as server:
        with pytest.raises(RedditAuthError, match="401") as raised:
            await run_source(source(server.url, subreddits=["all"]), Sink(), store)
    assert SECRET not in str(raised.value)
    assert SECRET not in repr(raised.value.__context__)
    assert raised.value.__cause__ is None
    assert SECRET not in caplog.text
    assert store.load("reddit") is None


def test_options_are_checked_and_name_the_variable_not_its_value(
    credentials: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="user_agent"):
        source("http://unused", user_agent="", subreddits=["all"])
    with pytest.raises(ValueError, match="subreddit"):
        source("http://unused", subreddits=["all/../../api"])
    with pytest.raises(ValueError, match="subreddits"):
        source("http://unused")
    monkeypatch.delenv("TEST_REDDIT_SECRET")
    with pytest.raises(ValueError, match="TEST_REDDIT_SECRET") as raised:
        source("http://unused", subreddits=["all"])
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    built = source(
        "http://unused", subreddits=["all"], client_secret_env=None, client_secret_file=str(secret_file)
    )
    assert SECRET not in str(raised.value)
    assert SECRET not in repr(built.options)


async def test_a_live_source_never_republishes_what_a_stale_listing_repeats(
    credentials: dict[str, str],
) -> None:
    _, newest, _ = cassette(SUBMISSIONS)
    stop, served = asyncio.Event(), []

    def stale(request: web.Request) -> web.Response:  # a cache ignoring `before`
        served.append(request.query.get("before"))
        if len(served) >= 4:
            stop.set()
        return newest.response()

    routes = Reddit.of().routes() | {"/r/all/new": stale, "/r/all/comments": Paged([])}
    sink = Sink()
    async with serve(routes) as server:
        live = source(server.url, subreddits=["all"], once=False, poll_seconds=0.01)
        await asyncio.wait_for(run_source(live, sink, None, stop=stop), 10)
    assert sink.ids == ids(names(newest.json()))
    assert served[:2] == [None, names(newest.json())[-1]]
