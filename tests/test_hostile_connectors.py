"""Hostile payloads for the connectors' parsers: generated ones, and mutations of the real recordings
in ../shared/fixtures (read at test time, never copied). Each payload becomes valid mentions (or
deletions), is skipped (None), or raises only what its connector catches, counts and logs as a
parse error: never an exception that would end the connector's run, which on restart would read
the same payload again. Shared with the fuzz run (`python -m bench.fuzz`)."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from functools import cache, partial
from typing import Any

import orjson
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from brandmon.schemas import Deletion, Mention, dumps
from connectors.bluesky_parse import POST_COLLECTION, KeywordFilter, MalformedEvent, dedup_key, parse_event
from connectors.hackernews_parse import hit_to_mention
from connectors.mastodon_parse import (
    UnreadableStatus,
    link_url,
    load_status,
    sse_events,
    status_mention,
    ws_event,
)
from connectors.reddit import thing_to_item
from tests.conftest import SHARED
from tests.test_hostile_input import SUITE, Target, hostile_text, huge, json_values, posts, timestamps

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")  # big payloads
NOW = datetime(2025, 1, 1, tzinfo=UTC)
FIXTURES = SHARED / "fixtures"

wire_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.sampled_from([10**18, 2**63, -1, 0]),
    hostile_text,
)
"""What httpx's `response.json()` (the standard library) can hand over: unbounded integers, NaN, Infinity."""
wire_values = st.recursive(
    wire_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(hostile_text, children, max_size=4),
    max_leaves=15,
)
HTML_BITS = ["<p>", "</p>", "<br>", "<a href='x'>", "</a>", "<i>", "<pre>", "<script>", "</", "<!--"]
HTML_BITS += ["<![CDATA[", "&#x27;", "&amp;", "&amp"]  # fmt: skip
HTML_BITS += ["&#0;", "&#xD800;", "&#1114112;", "&#99999999999;", "&lt;b&gt;", "<b " + "x=1 " * 500 + ">"]
html = st.lists(st.one_of(st.sampled_from(HTML_BITS), posts, hostile_text), max_size=12).map("".join)
text_or_junk = st.one_of(html, hostile_text, huge(html, 20_000), wire_values)


def assert_item(item: Mention | Deletion | None, source: str) -> None:
    """A valid item of the source, that the publisher can write (orjson: integers within 64 bits)."""
    if isinstance(item, Mention):
        assert item.source == source
        assert Mention.model_validate_json(dumps(item)) == item
    if item is not None:
        assert item.id.startswith(f"{source}:")


# --- mutations of recorded payloads --------------------------------------------------------------

DELETE = "\x00<delete>"
mutations = st.one_of(
    st.just(DELETE), wire_values, hostile_text, timestamps(), huge(hostile_text, 20_000), st.just([[[[[]]]]])
)


def _paths(document: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    children = (
        document.items()
        if isinstance(document, dict)
        else enumerate(document)
        if isinstance(document, list)
        else ()
    )
    for key, child in children:
        yield from _paths(child, (*prefix, key))


def _mutate(document: Any, changes: list[tuple[tuple[Any, ...], Any]]) -> Any:
    """`document` with each (path, value) change applied where the path still exists."""
    document = copy.deepcopy(document)
    for path, change in changes:
        value = copy.deepcopy(change)  # never the strategy's own object: it would be shared, even cyclic
        if not path:
            document = {} if value == DELETE else value
            continue
        parent = document
        for key in path[:-1]:
            parent = parent[key] if isinstance(parent, dict | list) and _has(parent, key) else None
        if isinstance(parent, dict | list) and _has(parent, path[-1]):
            if value == DELETE:
                del parent[path[-1]]
            else:
                parent[path[-1]] = value
    return document


def _has(container: dict[Any, Any] | list[Any], key: Any) -> bool:
    return key in container if isinstance(container, dict) else isinstance(key, int) and key < len(container)


def mutated(documents: list[Any]) -> st.SearchStrategy[Any]:
    """A recorded document with one to four values replaced by hostile ones or deleted."""

    def changes(document: Any) -> st.SearchStrategy[Any]:
        change = st.tuples(st.sampled_from(list(_paths(document))), mutations)
        return st.lists(change, min_size=1, max_size=4).map(partial(_mutate, document))

    return st.sampled_from(documents).flatmap(changes)


def recorded(loader: Any) -> list[Any]:
    """The recorded documents, or skip the test when ../shared is not checked out."""
    documents: list[Any] = loader()
    if not documents:
        pytest.skip(f"no recordings under {FIXTURES} for {loader.__name__} (the ../shared checkout)")
    return documents


# --- Hacker News (Algolia hits) ------------------------------------------------------------------

HN_SKIPS = (KeyError, TypeError, ValueError)
"""What `HackerNewsSource._mention` catches and counts (pydantic's ValidationError is a ValueError)."""
hn_hits = st.fixed_dictionaries(
    {
        "objectID": st.one_of(st.integers(0), hostile_text),
        "created_at_i": st.one_of(st.integers(0, 2**31), st.integers()),
    },
    optional={
        "_tags": st.one_of(
            st.lists(st.sampled_from(["story", "comment", "poll", "job", "author_x"])), wire_values
        ),
        **dict.fromkeys(["comment_text", "story_text", "title", "url", "author"], text_or_junk),
        **dict.fromkeys(["points", "num_comments", "parent_id"], wire_scalars),
    },
)
"""Hits as the connector passes them on: a dict with an objectID and an integer `created_at_i`."""


def check_hackernews(hit: dict[str, Any]) -> None:
    try:
        item = hit_to_mention(hit, NOW)
    except HN_SKIPS:
        return
    assert_item(item, "hackernews")


@cache
def hn_recordings() -> list[Any]:
    hits: list[Any] = []
    for path in sorted((FIXTURES / "hackernews" / "algolia").glob("fixtures*.json")):
        for entry in json.loads(path.read_text()):
            reply = entry.get("reply")
            hits += reply.get("hits", []) if isinstance(reply, dict) else []
    return hits


def _usable(hit: Any) -> bool:  # the connector's own filter before parsing (`hackernews._usable`)
    return (
        isinstance(hit, dict)
        and isinstance(hit.get("objectID"), str | int)
        and isinstance(hit.get("created_at_i"), int)
    )


@SUITE
@given(hn_hits)
@example({"objectID": "1", "created_at_i": 10**20, "comment_text": "acme", "_tags": ["comment"]})
@example({"objectID": "1", "created_at_i": 1, "comment_text": "acme", "points": 2**64, "num_comments": 2**70})
def test_hackernews_hits_become_mentions_or_are_skipped(hit: dict[str, Any]) -> None:
    check_hackernews(hit)


@pytest.mark.shared
@SUITE
@given(st.data())
def test_mutated_recorded_hackernews_hits(data: st.DataObject) -> None:
    hit = data.draw(mutated(recorded(hn_recordings)).filter(_usable))
    check_hackernews(hit)


# --- Mastodon (REST statuses, SSE and WebSocket events) ------------------------------------------

accounts = st.fixed_dictionaries(
    {"id": st.one_of(st.integers(0), hostile_text), "acct": hostile_text},
    optional={"followers_count": wire_scalars},
)
base_statuses = st.fixed_dictionaries(
    {
        "id": st.one_of(st.integers(0), hostile_text),
        "account": st.one_of(accounts, accounts, wire_values),
        "created_at": timestamps(),
        "visibility": st.one_of(st.sampled_from(["public", "unlisted", "private", "direct"]), wire_values),
    },
    optional={
        **dict.fromkeys(["content", "spoiler_text", "url", "uri"], text_or_junk),
        **dict.fromkeys(["language", "in_reply_to_id"], st.one_of(hostile_text, wire_scalars)),
        **dict.fromkeys(["favourites_count", "reblogs_count", "replies_count"], wire_scalars),
        "edited_at": timestamps(),
    },
)
statuses = st.one_of(base_statuses, st.builds(lambda s, r: {**s, "reblog": r}, base_statuses, base_statuses))


def check_mastodon_status(case: tuple[dict[str, Any], bool]) -> None:
    """`status_mention` raises only UnreadableStatus, which `mastodon._Run.statuses` counts and logs."""
    status, edited = case
    try:
        item = status_mention(
            status, "mastodon.example", NOW, edited=edited, visibility=("public", "unlisted")
        )
    except UnreadableStatus:
        return
    assert_item(item, "mastodon")


async def _events(lines: list[str]) -> list[Any]:
    async def feed() -> AsyncIterator[str]:
        for line in lines:
            yield line

    return [event async for event in sse_events(feed())]


def check_mastodon_frame(frame: str | bytes) -> None:
    """A WebSocket frame or SSE stream: events or nothing, and a status or UnreadableStatus."""
    text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
    link_url(text, "prev")
    payloads = [e.payload for e in asyncio.run(_events(text.splitlines()))]
    event = ws_event(frame)
    for payload in [*payloads, event.payload if event is not None else None]:
        try:
            status = load_status(payload)
        except UnreadableStatus:
            continue
        check_mastodon_status((dict(status), False))


frames = st.one_of(
    st.binary(max_size=200),
    hostile_text,
    st.builds(lambda s: "event: update\ndata: " + json.dumps(s) + "\n\n", statuses),
    st.builds(
        lambda stream, event, s: json.dumps({"stream": stream, "event": event, "payload": json.dumps(s)}),
        wire_values,
        st.sampled_from(["update", "status.update", "delete"]),
        statuses,
    ),
)


@cache
def mastodon_recordings() -> list[Any]:
    found: list[Any] = []
    for path in sorted((FIXTURES / "mastodon" / "derived").glob("*.json")):
        body = json.loads(path.read_text()).get("body")
        found += [status for status in body if isinstance(status, dict)] if isinstance(body, list) else []
    return found


@SUITE
@given(st.tuples(statuses, st.booleans()))
@example(
    (
        {
            "id": "1",
            "visibility": "public",
            "account": {"id": "1", "acct": "a"},
            "created_at": "0001-01-01T00:00:00+01:00",
        },
        False,
    )
)
@example(({"id": "1", "visibility": "public", "account": {"id": "1", "acct": "a", "followers_count": 2**64},
           "created_at": "2024-05-01T12:00:00Z", "favourites_count": 2**70}, False))  # fmt: skip
def test_mastodon_statuses_become_mentions_or_unreadable(case: tuple[dict[str, Any], bool]) -> None:
    check_mastodon_status(case)


@SUITE
@given(frames)
def test_mastodon_stream_frames_never_raise(frame: str | bytes) -> None:
    check_mastodon_frame(frame)


@pytest.mark.shared
@SUITE
@given(st.data())
def test_mutated_recorded_mastodon_statuses(data: st.DataObject) -> None:
    status = data.draw(mutated(recorded(mastodon_recordings)).filter(lambda s: isinstance(s, dict)))
    check_mastodon_status((status, data.draw(st.booleans())))


# --- Bluesky (Jetstream frames) ------------------------------------------------------------------

records = st.fixed_dictionaries(
    {"text": st.one_of(posts, hostile_text, huge(hostile_text, 50_000), wire_values)},
    optional={
        "createdAt": timestamps(),
        "langs": st.one_of(st.lists(hostile_text, max_size=3), json_values),
        "reply": st.fixed_dictionaries(
            {
                "parent": st.fixed_dictionaries(
                    {
                        "uri": st.one_of(
                            hostile_text,
                            st.builds("at://{}/app.bsky.feed.post/{}".format, hostile_text, hostile_text),
                        )
                    }
                )
            }
        ),
    },
)
commits = st.fixed_dictionaries(
    {
        "collection": st.one_of(st.just(POST_COLLECTION), st.just(POST_COLLECTION), json_values),
        "operation": st.one_of(st.sampled_from(["create", "update", "delete", "x"]), json_values),
        "rkey": st.one_of(hostile_text, json_values),
    },
    optional={"rev": json_values, "record": st.one_of(records, records, json_values)},
)
jetstream_events = st.fixed_dictionaries(
    {
        "kind": st.one_of(st.just("commit"), st.just("commit"), json_values),
        "did": st.one_of(st.builds("did:plc:{}".format, hostile_text), json_values),
        "time_us": st.one_of(st.integers(1, 2**62), st.integers(-(2**63), 2**64 - 1), json_values),
        "commit": st.one_of(commits, commits, json_values),
    }
)
jetstream_frames = st.one_of(jetstream_events.map(orjson.dumps), st.binary(max_size=200), hostile_text)
KEYWORDS = KeywordFilter(["acme", "recall*", "acme corp"])


def check_bluesky_frame(frame: str | bytes) -> None:
    """What `bluesky._Reader.take` does with a frame: only JSON errors and MalformedEvent are
    caught (counted as parse errors, logged); the post must then pass the keyword filter and
    give a dedup key."""
    try:
        event = orjson.loads(frame)
        item = parse_event(event, NOW)
    except (orjson.JSONDecodeError, MalformedEvent):
        return
    assert_item(item, "bluesky")
    if item is not None:
        dedup_key(event)
    if isinstance(item, Mention):
        KEYWORDS.matches(item.text)


@cache
def bluesky_recordings() -> list[Any]:
    path = FIXTURES / "bluesky" / "jetstream" / "internal__corpus__testdata__expected_v1.jsonl"
    return [orjson.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


@SUITE
@given(jetstream_frames)
def test_bluesky_frames_become_items_or_parse_errors(frame: str | bytes) -> None:
    check_bluesky_frame(frame)


@pytest.mark.shared
@SUITE
@given(st.data())
def test_mutated_recorded_bluesky_frames(data: st.DataObject) -> None:
    event = data.draw(mutated(recorded(bluesky_recordings)))
    check_bluesky_frame(json.dumps(event))  # any integer, NaN: orjson refuses them as Jetstream's reader does


# --- Reddit (listing children) -------------------------------------------------------------------

REDDIT_SKIPS = (KeyError, TypeError, ValueError, OverflowError, OSError)
"""What `RedditSource._items` catches around `thing_to_item` (ValidationError is a ValueError)."""
reddit_data = st.fixed_dictionaries(
    {"name": hostile_text},
    optional={
        **dict.fromkeys(
            ["permalink", "body", "selftext", "title", "author", "author_fullname"], text_or_junk
        ),
        **dict.fromkeys(
            ["created_utc", "edited", "score", "num_comments"], st.one_of(wire_scalars, timestamps())
        ),
        **dict.fromkeys(["parent_id", "crosspost_parent", "removed_by_category"], wire_scalars),
    },
)
"""Things as the connector passes them on: a dict `data` with a string `name`."""


def check_reddit(case: tuple[Any, dict[str, Any]]) -> None:
    kind, data = case
    try:
        item = thing_to_item(kind, data, NOW)
    except REDDIT_SKIPS:
        return
    assert_item(item, "reddit")


@cache
def reddit_recordings() -> list[Any]:
    things: list[Any] = []
    for path in sorted((FIXTURES / "reddit" / "asyncpraw_cassettes").glob("*.json")):
        for interaction in json.loads(path.read_text())["interactions"]:
            try:
                body = json.loads(interaction["response"]["body"]["string"])
            except ValueError:
                continue
            for listing in body if isinstance(body, list) else [body]:
                data = listing.get("data") if isinstance(listing, dict) else None
                things += data.get("children", []) if isinstance(data, dict) else []
    return [t for t in things if isinstance(t, dict) and isinstance(t.get("data"), dict)]


@SUITE
@given(st.tuples(st.one_of(st.sampled_from(["t1", "t3", "t5", "more"]), wire_values), reddit_data))
def test_reddit_things_become_items_or_are_skipped(case: tuple[Any, dict[str, Any]]) -> None:
    check_reddit(case)


@pytest.mark.shared
@SUITE
@given(st.data())
def test_mutated_recorded_reddit_things(data: st.DataObject) -> None:
    thing = data.draw(mutated(recorded(reddit_recordings)))
    if _listed(thing):
        check_reddit((thing.get("kind"), thing["data"]))


def test_a_reddit_date_beyond_the_platform_time_range_is_skipped() -> None:
    """`datetime.fromtimestamp(6.7e16)` raises OSError (EOVERFLOW): skipped, not the end of the run."""
    check_reddit(("t1", {"name": "t1_x", "permalink": "/r/x", "created_utc": 67_768_036_191_676_796}))


def test_a_reddit_count_past_64_bits_does_not_make_an_unpublishable_mention() -> None:
    """The listing's JSON (read by the standard library) may hold any integer; orjson could not
    write such a mention, so the contract bounds counts and the item is skipped."""
    check_reddit(("t3", {"name": "t3_x", "permalink": "/r/x", "created_utc": 1.7e9, "score": 2**64}))


def _listed(thing: Any) -> bool:  # what `RedditSource._listing` passes on
    return (
        isinstance(thing, dict)
        and isinstance(thing.get("data"), dict)
        and isinstance(thing["data"].get("name"), str)
    )


def fuzz_targets() -> list[Target]:
    reddit_things = st.tuples(st.one_of(st.sampled_from(["t1", "t3"]), wire_values), reddit_data)
    targets = [
        Target("hackernews hits", hn_hits, check_hackernews),
        Target("mastodon statuses", st.tuples(statuses, st.booleans()), check_mastodon_status),
        Target("mastodon stream frames", frames, check_mastodon_frame),
        Target("bluesky frames", jetstream_frames, check_bluesky_frame),
        Target("reddit things", reddit_things, check_reddit),
    ]
    if hits := hn_recordings():
        targets.append(
            Target("hackernews (recorded, mutated)", mutated(hits).filter(_usable), check_hackernews)
        )
    if found := mastodon_recordings():
        recorded_statuses = st.tuples(mutated(found).filter(lambda s: isinstance(s, dict)), st.booleans())
        targets.append(Target("mastodon (recorded, mutated)", recorded_statuses, check_mastodon_status))
    if events := bluesky_recordings():
        targets.append(
            Target("bluesky (recorded, mutated)", mutated(events).map(json.dumps), check_bluesky_frame)
        )
    if things := reddit_recordings():
        usable = mutated(things).filter(_listed)
        recorded_things = usable.map(lambda t: (t.get("kind"), t["data"]))
        targets.append(Target("reddit (recorded, mutated)", recorded_things, check_reddit))
    return targets
