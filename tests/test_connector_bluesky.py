"""Bluesky via Jetstream: recorded Jetstream frames replayed by a local websocket server.

The server acts like Jetstream's replay: connection N sends the frames with `time_us >= ?cursor`
in recorded (non-monotonic) order, stopping after `cuts[N]` frames by dropping the TCP connection
(None: all, then a normal close); connections beyond the script are refused with 503, which ends
the source (`RetriesExhausted`) once its few fast retries are spent. Frames marked synthetic are
real ones with a field changed, for cases the recordings lack (an edit).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
from prometheus_client import CollectorRegistry
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

from brandmon.schemas import Deletion, Mention
from connectors.bluesky import MAX_RECENT_KEYS, BlueskyOptions, BlueskySource, RecentKeys
from connectors.bluesky_parse import (
    KeywordFilter,
    MalformedEvent,
    from_time_us,
    mention_id,
    parent_id,
    parse_event,
)
from connectors.checkpoint import CheckpointStore
from connectors.health import SourceMetrics
from connectors.http import RetriesExhausted, RetryPolicy
from connectors.runner import run_source
from connectors.source import Page, SourceContext
from tests.conftest import SHARED
from tests.test_connector_runner import FlakySink

JETSTREAM = SHARED / "fixtures" / "bluesky" / "jetstream"
CORPUS = JETSTREAM / "internal__corpus__testdata__expected_v1.jsonl"
GOLDEN = JETSTREAM / "internal__subscribe__testdata__golden_v1.jsonl"
FAST_RETRY = RetryPolicy(attempts=3, base_seconds=0.001, max_seconds=0.01)


def recorded(path: Path) -> list[str]:
    if not path.exists():
        pytest.skip(f"{path} is missing: these tests replay the shared Jetstream recordings in ../shared")
    return path.read_text(encoding="utf-8").splitlines()


def time_of(frame: str) -> int:
    try:
        return int(orjson.loads(frame)["time_us"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return 1 << 62  # unreadable frames are always sent


def expected(frames: list[str]) -> tuple[list[str], list[str]]:
    """Mention ids (creates and updates) and deletion ids of the post events, in wire order."""
    mentions: list[str] = []
    deletions: list[str] = []
    for event in map(orjson.loads, frames):
        commit = event.get("commit", {})
        if event["kind"] == "commit" and commit["collection"] == "app.bsky.feed.post":
            target = deletions if commit["operation"] == "delete" else mentions
            target.append(f"bluesky:{event['did']}/{commit['rkey']}")
    return mentions, deletions


@dataclass
class Jetstream:
    url: str = ""
    queries: list[dict[str, list[str]]] = field(default_factory=list)


@asynccontextmanager
async def jetstream(
    frames: list[str], cuts: list[int | None], silent: bool = False
) -> AsyncIterator[Jetstream]:
    """`silent`: before a drop, say nothing more until the client leaves (a stalled server)."""
    state = Jetstream()

    def admit(connection: ServerConnection, request: Request) -> Response | None:
        if len(state.queries) >= len(cuts):
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "replay over\n")
        state.queries.append(parse_qs(urlsplit(request.path).query))
        return None

    async def replay(socket: ServerConnection) -> None:
        number = len(state.queries) - 1
        cursor = int(state.queries[number].get("cursor", ["0"])[0])
        cut = cuts[number]
        for frame in [f for f in frames if time_of(f) >= cursor][:cut]:
            await socket.send(frame)
        if cut is None:
            await socket.close()
        elif silent:
            await socket.wait_closed()
        else:
            socket.transport.close()  # flushes what was sent, then FIN with no close frame: a drop

    async with serve(replay, "127.0.0.1", 0, process_request=admit) as server:
        state.url = f"ws://127.0.0.1:{next(iter(server.sockets)).getsockname()[1]}/subscribe"
        yield state


def source(url: str, registry: CollectorRegistry | None = None, **options: Any) -> BlueskySource:
    health = SourceMetrics(registry or CollectorRegistry()).for_source("bsky")
    return BlueskySource({"endpoint": url, **options}, SourceContext("bsky", health, retry=FAST_RETRY))


async def drain(bluesky: BlueskySource, cursor: dict[str, Any] | None = None) -> list[Page]:
    """Every page until the replay is over (the source gives up on the refused connections)."""
    pages: list[Page] = []

    async def consume() -> None:
        async for page in bluesky.pages(cursor):
            pages.append(page)

    with pytest.raises(RetriesExhausted):
        await asyncio.wait_for(consume(), 10)
    return pages


def errors(registry: CollectorRegistry, kind: str) -> float | None:
    return registry.get_sample_value("brandmon_source_errors_total", {"source": "bsky", "kind": kind})


@pytest.mark.shared
async def test_the_contiguous_capture_gives_exactly_its_posts_and_deletion() -> None:
    frames = recorded(CORPUS)
    mentions, deletions = expected(frames)
    assert (len(mentions), len(deletions)) == (17, 1)
    async with jetstream(frames, [None]) as server:
        pages = await drain(source(server.url, page_max=5))
    assert [m.id for p in pages for m in p.mentions] == mentions
    assert [d.id for p in pages for d in p.deletions] == deletions
    assert all(len(p.mentions) + len(p.deletions) <= 5 for p in pages)
    assert server.queries == [{"wantedCollections": ["app.bsky.feed.post"]}]
    times = [p.cursor["time_us"] for p in pages if p.cursor]
    assert times == sorted(times)
    assert times[-1] == max(map(time_of, frames))
    tic_tac = next(m for p in pages for m in p.mentions if m.id.endswith("/3mptbyoigog2b"))
    assert tic_tac.lang_declared == "en-US"
    assert tic_tac.created_at.isoformat() == "2026-07-04T14:38:02+00:00"
    assert tic_tac.url == "https://bsky.app/profile/did:plc:ybqkf2mtfbwx3qhga63mttja/post/3mptbyoigog2b"


@pytest.mark.shared
async def test_the_golden_events_hold_one_post_reply_and_nothing_else() -> None:
    frames = recorded(GOLDEN)
    async with jetstream(frames, [None]) as server:
        pages = await drain(source(server.url))
    [post] = [m for p in pages for m in p.mentions]
    assert not [d for p in pages for d in p.deletions]
    assert post.id == "bluesky:did:plc:q235v55g5unth4zjjdpacfdr/3mmoojp4cd223"
    assert (post.source, post.author.id, post.text) == (
        "bluesky",
        "did:plc:q235v55g5unth4zjjdpacfdr",
        "Try RSV for a good time !!",
    )
    assert post.reply_to == "bluesky:did:plc:j76trmiofvaxxpvx2vnb2vwf/3mmojbrjwbs26"
    assert (post.lang_declared, post.edited_at) == ("en", None)
    assert post.created_at.isoformat() == "2026-05-25T14:23:28.757000+00:00"


@pytest.mark.shared
async def test_keywords_keep_posts_with_the_word_and_every_deletion() -> None:
    frames = recorded(CORPUS)
    async with jetstream(frames, [None]) as server:
        pages = await drain(source(server.url, keywords=["BAND", "tic tac", "shut", "ban"]))
    rkeys = {m.id.rsplit("/", 1)[1] for p in pages for m in p.mentions}
    # "band's" is the word band; "shut" is inside #HowToTellAiToShutUp; "ban" is no word here
    assert rkeys == {"3mptbypfywk2v", "3mptbyospqk2i", "3mptbyoigog2b"}
    assert [d.id for p in pages for d in p.deletions] == expected(frames)[1]


@pytest.mark.shared
async def test_a_dropped_connection_resumes_with_no_gap_and_no_duplicate(tmp_path: Path) -> None:
    frames = recorded(CORPUS)
    mentions, deletions = expected(frames)
    registry, sink, store = CollectorRegistry(), FlakySink(), CheckpointStore(tmp_path)
    async with jetstream(frames, [60, None]) as server:
        with pytest.raises(RetriesExhausted):
            await run_source(source(server.url, registry, page_max=4), sink, store)
    assert (sink.ids, sink.deleted) == (mentions, deletions)
    newest = max(map(time_of, frames[:60]))
    assert server.queries[1]["cursor"] == [str(newest - 5_000_000)]
    assert server.queries[1]["wantedCollections"] == ["app.bsky.feed.post"]
    assert (errors(registry, "network") or 0) >= 2  # the drop, the end of the replay, the refusals
    saved = store.load("bsky")
    assert saved is not None
    assert saved["time_us"] == max(map(time_of, frames))


@pytest.mark.shared
async def test_a_restart_from_the_saved_cursor_has_no_gap_and_no_duplicate(tmp_path: Path) -> None:
    """The first run stops after 6 posts; the next two on the wire are stamped before the 6th's
    newest time_us (the capture steps back up to 32 ms), so only the 50 ms rewind brings them,
    and the keys kept in the cursor drop what the rewind sends again."""
    frames = recorded(CORPUS)
    mentions, deletions = expected(frames)
    store = CheckpointStore(tmp_path)
    first, second = FlakySink(fail_after=2), FlakySink()
    async with jetstream(frames, [None, None]) as server:
        with pytest.raises(ConnectionError):
            await run_source(source(server.url, page_max=3, rewind_seconds=0.05), first, store)
        saved = store.load("bsky")
        assert saved is not None
        assert len(first.ids) == 6
        with pytest.raises(RetriesExhausted):
            await run_source(source(server.url, page_max=3, rewind_seconds=0.05), second, store)
    assert first.ids + second.ids == mentions
    assert first.deleted + second.deleted == deletions
    assert server.queries[1]["cursor"] == [str(saved["time_us"] - 50_000)]
    assert 0 < len(saved["recent"]) < 6  # only keys inside the rewind margin are kept


@pytest.mark.shared
async def test_garbage_frames_count_as_parse_errors_and_the_stream_goes_on() -> None:
    frames = recorded(CORPUS)
    mentions, deletions = expected(frames)
    broken_post = orjson.loads(frames[1])
    del broken_post["commit"]["record"]["text"]
    garbage = [frames[40][:57], "not json", orjson.dumps(broken_post).decode()]
    registry = CollectorRegistry()
    async with jetstream([*frames[:30], *garbage, *frames[30:]], [None]) as server:
        pages = await drain(source(server.url, registry))
    assert [m.id for p in pages for m in p.mentions] == mentions  # the text-less copy of a post is skipped
    assert [d.id for p in pages for d in p.deletions] == deletions
    assert errors(registry, "parse") == 3


@pytest.mark.shared
async def test_a_silent_server_is_left_and_empty_pages_still_move_the_cursor() -> None:
    frames = recorded(CORPUS)
    registry = CollectorRegistry()
    async with jetstream(frames, [20, None], silent=True) as server:
        pages = await drain(
            source(server.url, registry, keywords=["zzzz"], stall_seconds=0.1, page_seconds=0.02)
        )
    assert not [m for p in pages for m in p.mentions]
    assert [p.cursor["time_us"] for p in pages if p.cursor][:1] == [max(map(time_of, frames[:20]))]
    assert "cursor" in server.queries[1]
    assert (errors(registry, "network") or 0) >= 1


@pytest.mark.shared
async def test_an_edit_is_published_with_edited_at_even_without_the_keyword() -> None:
    frames = recorded(CORPUS)
    edit = orjson.loads(frames[1])  # synthetic: the youtube link post, edited 1 s later
    edit["time_us"] += 1_000_000
    edit["commit"].update(operation="update", rev="3mptbzzzzzz2a")
    edit["commit"]["record"]["text"] = "never mind"
    async with jetstream([*frames, orjson.dumps(edit).decode()], [None]) as server:
        pages = await drain(source(server.url, keywords=["youtube"]))
    first, second = [m for p in pages for m in p.mentions]
    assert first.id == second.id
    assert (first.edited_at, second.text) == (None, "never mind")
    assert second.edited_at == from_time_us(edit["time_us"])
    assert second.created_at == first.created_at


def test_ids_are_printable_ascii_and_replies_point_at_mention_ids() -> None:
    assert mention_id("did:web:example.com%3A8080", "ä b") == (
        "bluesky:did:web:example.com%253A8080/%C3%A4%20b"
    )
    assert parent_id("at://did:plc:abc/app.bsky.feed.post/3k2") == "bluesky:did:plc:abc/3k2"
    assert parent_id("at://did:plc:abc/app.bsky.feed.generator/x") is None


def post(operation: str = "create", **record: Any) -> dict[str, Any]:
    return {
        "did": "did:plc:abc",
        "time_us": 1_783_175_888_000_000,
        "kind": "commit",
        "commit": {
            "operation": operation,
            "collection": "app.bsky.feed.post",
            "rkey": "3k2",
            "rev": "r1",
            "record": {"text": "hello", **record},
        },
    }


@pytest.mark.parametrize(
    ("created", "expected_iso"),
    [
        ("2026-07-04T14:38:06.240Z", "2026-07-04T14:38:06.240000+00:00"),
        ("2026-07-04T16:38:06+02:00", "2026-07-04T14:38:06+00:00"),
        ("2026-07-04T14:38:06", "2026-07-04T14:38:06+00:00"),  # no zone: UTC
        ("2099-01-01T00:00:00Z", "2026-07-04T14:38:08+00:00"),  # after the relay saw it: time_us
        ("yesterday", "2026-07-04T14:38:08+00:00"),
        (None, "2026-07-04T14:38:08+00:00"),
    ],
)
def test_created_at_is_the_records_unless_unreadable_or_in_the_future(
    created: str | None, expected_iso: str
) -> None:
    mention = parse_event(post(createdAt=created), datetime.now(UTC))
    assert isinstance(mention, Mention)
    assert mention.created_at.isoformat() == expected_iso


def test_only_post_commits_count_and_broken_ones_are_malformed() -> None:
    now = datetime.now(UTC)
    deletion = parse_event({**post("delete"), "commit": {**post("delete")["commit"], "record": None}}, now)
    assert deletion == Deletion(id="bluesky:did:plc:abc/3k2", deleted_at=now)
    assert parse_event({**post(), "kind": "identity"}, now) is None
    assert (
        parse_event({**post(), "commit": {**post()["commit"], "collection": "app.bsky.feed.like"}}, now)
        is None
    )
    mention = parse_event(post(langs=["x" * 40], reply={"parent": {"uri": 7}}), now)
    assert isinstance(mention, Mention)
    assert (mention.lang_declared, mention.reply_to) == (None, None)
    with pytest.raises(MalformedEvent):
        parse_event(post(text=["not", "text"]), now)
    with pytest.raises(MalformedEvent):
        parse_event({"did": "did:plc:abc", "time_us": 5, "kind": "commit", "commit": "?"}, now)


def test_keywords_match_words_as_the_stream_splits_them() -> None:
    acme = KeywordFilter(["acme", "recall*", "索尼"])
    assert acme.matches("Big news: #AcmeRecall")
    assert acme.matches("ACME的新产品")
    assert acme.matches("我喜欢索尼的产品")
    assert acme.matches("they recalled it")
    assert not acme.matches("macmerchant")
    assert not acme.matches("see https://x.org/acme")
    assert KeywordFilter([]).matches("anything")
    with pytest.raises(ValueError, match="no letters"):
        KeywordFilter(["!!"])


def test_options_and_cursors_are_checked_before_connecting() -> None:
    parsed = BlueskyOptions.parse({"keywords": "acme", "endpoint": "ws://h/subscribe"})
    assert parsed.keywords == ("acme",)
    assert parsed.url(17) == "ws://h/subscribe?wantedCollections=app.bsky.feed.post&cursor=17"
    assert BlueskyOptions.parse({}).url(None) == (
        "wss://jetstream2.us-east.bsky.network/subscribe?wantedCollections=app.bsky.feed.post"
    )
    with pytest.raises(ValueError, match="ws:// or wss://"):
        BlueskyOptions.parse({"endpoint": "https://h/subscribe"})
    with pytest.raises(ValueError, match="page_max"):
        BlueskyOptions.parse({"page_max": 0})
    with pytest.raises(ValueError, match="no option keyword "):
        BlueskyOptions.parse({"keyword": ["acme"]})


async def test_a_broken_cursor_names_the_fix() -> None:
    pages = source("ws://127.0.0.1:9/subscribe").pages({"time_us": "soon"})
    with pytest.raises(ValueError, match="delete it to start over"):
        await anext(pages)


def test_recent_keys_forget_what_no_rewind_can_send_again() -> None:
    recent = RecentKeys(["old"], time_us=100)
    recent.add("new", 250)
    assert recent.prune(oldest_us=200) == ["new"]
    assert "old" not in recent
    for number in range(MAX_RECENT_KEYS + 5):
        recent.add(f"k{number}", 300 + number)
    kept = recent.prune(oldest_us=0)
    assert len(kept) == MAX_RECENT_KEYS
    assert "new" not in recent
    assert f"k{MAX_RECENT_KEYS + 4}" in recent
