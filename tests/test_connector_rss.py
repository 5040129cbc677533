"""RSS/Atom source against a real local server replaying recorded feeds (../shared/fixtures/rss).

The server honours If-None-Match / If-Modified-Since like a real feed host, so the conditional-GET
path runs. Expected values come from the recordings read with the standard library's XML parser,
not from feedparser, so the two readings check each other.
"""

from __future__ import annotations

import logging
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import cast
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from brandmon.schemas import Mention
from connectors.checkpoint import CheckpointStore
from connectors.health import SourceMetrics
from connectors.http import RetryPolicy
from connectors.rss import RssSource
from connectors.rss_parse import entry_mention, native_id, parse_feed, plain_text, real_url
from connectors.runner import run_source
from connectors.source import Cursor, Page, SourceContext
from tests.conftest import SHARED
from tests.local_http import Handler, serve
from tests.test_connector_runner import FlakySink

FIXTURES = SHARED / "fixtures" / "rss"
ATOM = "{http://www.w3.org/2005/Atom}"
MODIFIED = "Wed, 10 Jul 2019 11:53:37 GMT"
NOW = datetime(2025, 1, 1, tzinfo=UTC)


def recording(name: str) -> bytes:
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"../shared/fixtures/rss/{name} not present: the recorded feeds are not checked out")
    return path.read_bytes()


@dataclass
class Document:
    body: bytes
    etag: str
    content_type: str = "application/atom+xml"
    modified: str = MODIFIED


@dataclass
class FeedHost:
    """Feeds by path, answering 304 when the client already has the current version (if `conditional`)."""

    documents: dict[str, Document] = field(default_factory=dict)
    conditional: bool = True

    def handler(self, path: str) -> Handler:
        def respond(request: web.Request) -> web.Response:
            document = self.documents[path]
            validators = {"ETag": document.etag, "Last-Modified": document.modified}
            if_none_match, since = (
                request.headers.get("If-None-Match"),
                request.headers.get("If-Modified-Since"),
            )
            if if_none_match is not None:  # RFC 9110: If-None-Match wins over If-Modified-Since
                current = if_none_match == document.etag
            else:
                current = since is not None and parsedate_to_datetime(since) >= parsedate_to_datetime(
                    document.modified
                )
            if self.conditional and current:
                return web.Response(status=304, headers=validators)
            headers = {**validators, "Content-Type": document.content_type}
            return web.Response(body=document.body, headers=headers)

        return respond

    def routes(self) -> dict[str, Handler | list[web.Response]]:
        return {path: self.handler(path) for path in self.documents}


def rss(feeds: list[str], registry: CollectorRegistry, **options: object) -> RssSource:
    context = SourceContext(
        name="news",
        health=SourceMetrics(registry).for_source("news"),
        retry=RetryPolicy(base_seconds=0.01, max_seconds=0.5),
    )
    return RssSource({"feeds": feeds, "poll_seconds": 0.01, **options}, context)


def pages_of(source: RssSource, cursor: Cursor | None = None) -> AsyncGenerator[Page, None]:
    return cast(AsyncGenerator[Page, None], source.pages(cursor))


async def take(source: RssSource, cursor: Cursor | None, count: int) -> list[Page]:
    """The first `count` pages (one per feed per round)."""
    pages: list[Page] = []
    generator = pages_of(source, cursor)
    try:
        async for page in generator:
            pages.append(page)
            if len(pages) == count:
                break
    finally:
        await generator.aclose()
    return pages


def mentions(pages: list[Page]) -> dict[str, Mention]:
    found = [m for page in pages for m in page.mentions]
    assert len({m.id for m in found}) == len(found), "a mention was published twice"
    return {m.id: m for m in found}


def errors(registry: CollectorRegistry, kind: str) -> float | None:
    return registry.get_sample_value("brandmon_source_errors_total", {"source": "news", "kind": kind})


def google_alerts_expected(body: bytes) -> dict[str, tuple[datetime, str]]:
    """id -> (published, real URL), read with ElementTree from the recording."""
    expected = {}
    for entry in ET.fromstring(body).iter(f"{ATOM}entry"):
        link = entry.find(f"{ATOM}link")
        assert link is not None
        real = parse_qs(urlsplit(link.attrib["href"]).query)["url"][0]
        published = datetime.fromisoformat(entry.findtext(f"{ATOM}published", ""))
        expected["rss:" + entry.findtext(f"{ATOM}id", "")] = (published, real)
    return expected


def without_first_entry(body: bytes) -> bytes:
    start = body.index(b"<entry>")
    return body[:start] + body[body.index(b"</entry>", start) + len(b"</entry>") :]


@pytest.mark.shared
async def test_google_alerts_entries_with_plain_text_real_urls_and_their_times() -> None:
    body = recording("feedjira/google_alerts_atom.xml")
    host = FeedHost({"/alerts": Document(body, '"v1"')})
    registry = CollectorRegistry()
    async with serve(host.routes()) as server:
        found = mentions(await take(rss([server.url + "/alerts"], registry), None, 1))
    expected = google_alerts_expected(body)
    assert len(expected) == 20
    assert {i: (m.created_at, m.url) for i, m in found.items()} == expected
    recode = found["rss:tag:google.com,2013:googlealerts/feed:1835132116100339822"]
    assert recode.text == (
        "Recode Daily: Slack has a Snap problem\nMicrosoft Teams could be to Slack what Facebook was to "
        "Snapchat: a copier and a killer. The workplace messaging software Slack is losing ground to ..."
    )
    investor = found["rss:tag:google.com,2013:googlealerts/feed:13685523368333461374"]
    assert "the Company's decision to go public via ..." in investor.text
    assert all(
        "<b>" not in m.text and "&nbsp;" not in m.text and "slack" in m.text.lower() for m in found.values()
    )
    assert {(m.author.handle, m.author.id, m.lang_declared, m.source) for m in found.values()} == {
        (None, None, None, "rss")
    }
    assert errors(registry, "parse") == 0


@pytest.mark.shared
async def test_techcrunch_with_a_blank_line_before_the_xml_declaration_parses_whole() -> None:
    body = recording("feedjira/TechCrunch.xml")
    assert body.startswith(b"\n")
    host = FeedHost({"/tc": Document(body, '"tc"', "application/rss+xml; charset=UTF-8")})
    registry = CollectorRegistry()
    async with serve(host.routes()) as server:
        found = mentions(await take(rss([server.url + "/tc"], registry), None, 1))
    origlink, creator, comments = (
        "{http://rssnamespace.org/feedburner/ext/1.0}origLink",
        "{http://purl.org/dc/elements/1.1/}creator",
        "{http://purl.org/rss/1.0/modules/slash/}comments",
    )
    items = ET.fromstring(body.lstrip()).iter("item")
    expected = {
        "rss:" + item.findtext("guid", ""): (
            parsedate_to_datetime(item.findtext("pubDate", "")),
            item.findtext(creator),
            item.findtext(origlink),
            item.findtext("title"),
            int(item.findtext(comments, "")),
        )
        for item in items
    }
    assert len(expected) == 20
    assert {
        i: (m.created_at, m.author.handle, m.url, m.text.split("\n")[0], m.engagement.replies)
        for i, m in found.items()
    } == expected
    angie = found["rss:http://techcrunch.com/?p=446154"]
    assert angie.text.startswith(
        "Angie\u2019s List Sets Price Range IPO At $11 To $13 Per Share; Valued At Over $600M\n"
        "Angie\u2019s List, which offers consumers a way to review and rate doctors, contractors and service "
        "companies on the Web, has just set the terms for its IPO. In a new filing, the company revealed"
    )
    assert {m.lang_declared for m in found.values()} == {"en"}
    assert not any("<p>" in m.text or "<img" in m.text for m in found.values())
    assert errors(registry, "parse") == 0


@pytest.mark.shared
async def test_entries_without_a_guid_are_identified_by_their_link() -> None:
    body = recording("feedjira/RSSWithComments.xml")
    host = FeedHost({"/hn": Document(body, '"hn"', "application/rss+xml")})
    async with serve(host.routes()) as server:
        found = mentions(await take(rss([server.url + "/hn"], CollectorRegistry()), None, 1))
    expected = {
        "rss:" + item.findtext("link", ""): (
            parsedate_to_datetime(item.findtext("pubDate", "")),
            item.findtext("title"),
        )
        for item in ET.fromstring(body).iter("item")
    }
    assert len(expected) == 30
    assert {i: (m.created_at, m.text.split("\n")[0]) for i, m in found.items()} == expected


@pytest.mark.shared
async def test_conditional_get_new_entries_and_edits_are_published_once() -> None:
    body = recording("feedjira/google_alerts_atom.xml")
    host = FeedHost({"/alerts": Document(without_first_entry(body), '"v1"')})
    async with serve(host.routes()) as server:
        source = rss([server.url + "/alerts"], CollectorRegistry())
        generator = pages_of(source)
        first = await anext(generator)
        unchanged = await anext(generator)  # 304
        edited = body.replace(b"Recode Daily: ", b"Recode Daily (corrected): ")
        host.documents["/alerts"] = Document(edited, '"v2"', modified="Wed, 10 Jul 2019 12:00:00 GMT")
        second = await anext(generator)
        await generator.aclose()
        sent = [(r.headers.get("If-None-Match"), r.headers.get("If-Modified-Since")) for r in server.requests]
    assert sent == [(None, None), ('"v1"', MODIFIED), ('"v1"', MODIFIED)]
    assert len(first.mentions) == 19
    assert first.cursor is not None
    assert unchanged.mentions == []
    assert unchanged.cursor is None
    new, edit = sorted(second.mentions, key=lambda m: m.edited_at is not None)
    assert new.id == "rss:tag:google.com,2013:googlealerts/feed:8974135267215335962"
    assert new.edited_at is None
    assert edit.id == "rss:tag:google.com,2013:googlealerts/feed:1835132116100339822"
    assert edit.text.startswith("Recode Daily (corrected): Slack has a Snap problem\n")
    assert edit.edited_at is not None
    assert edit.edited_at >= edit.fetched_at
    assert len(second.mentions) == 2
    assert second.cursor is not None
    (state,) = second.cursor["feeds"].values()
    assert (state["etag"], state["modified"], len(state["seen"])) == (
        '"v2"',
        "Wed, 10 Jul 2019 12:00:00 GMT",
        20,
    )
    assert "127.0.0.1" not in str(second.cursor)  # feeds are keyed by a hash of their URL


@pytest.mark.shared
@pytest.mark.parametrize("conditional", [True, False], ids=["host-sends-304", "host-ignores-etags"])
async def test_a_restart_between_pages_has_no_gap_and_no_duplicate(tmp_path: Path, conditional: bool) -> None:
    alerts, tc = recording("feedjira/google_alerts_atom.xml"), recording("feedjira/TechCrunch.xml")
    hn = recording("feedjira/RSSWithComments.xml")
    documents = {"/alerts": Document(alerts, '"a"'), "/tc": Document(tc, '"t"'), "/hn": Document(hn, '"h"')}
    host = FeedHost(documents, conditional)
    store = CheckpointStore(tmp_path / "cursors")
    async with serve(host.routes()) as server:
        feeds = [server.url + path for path in ("/alerts", "/tc", "/hn?token=s3cret")]
        first = FlakySink(fail_after=1)
        with pytest.raises(ConnectionError):
            await run_source(rss(feeds, CollectorRegistry()), first, store)
        assert first.pages == 1
        assert store.load("news") is not None
        second = FlakySink()
        sent = await run_source(rss(feeds, CollectorRegistry()), second, store, limit=70 - len(first.ids))
        again = await take(rss(feeds, CollectorRegistry()), store.load("news"), 6)
    ids = first.ids + second.ids
    assert sent == 70 - len(first.ids)
    assert len(set(ids)) == len(ids) == 70
    assert Counter(i.startswith("rss:tag:google.com") for i in ids) == Counter({True: 20, False: 50})
    assert [p.mentions for p in again] == [[]] * 6  # two more rounds: nothing new, nothing again
    saved = (tmp_path / "cursors" / "news.json").read_text()
    assert "s3cret" not in saved
    assert "127.0.0.1" not in saved


@pytest.mark.shared
async def test_429_with_and_without_retry_after_loses_nothing() -> None:
    alerts, tc = recording("feedjira/google_alerts_atom.xml"), recording("feedjira/TechCrunch.xml")
    routes: dict[str, Handler | list[web.Response]] = {
        "/alerts": [web.Response(status=429, headers={"Retry-After": "0.2"}), web.Response(body=alerts)],
        "/tc": [web.Response(status=429), web.Response(status=503), web.Response(body=tc)],
    }
    registry = CollectorRegistry()
    async with serve(routes) as server:
        started = time.monotonic()
        found = mentions(await take(rss([server.url + "/alerts", server.url + "/tc"], registry), None, 2))
    assert time.monotonic() - started >= 0.2
    assert len(found) == 40
    assert set(google_alerts_expected(alerts)) <= set(found)
    assert errors(registry, "rate_limited") == 2
    assert errors(registry, "http_5xx") == 1


@pytest.mark.shared
async def test_broken_documents_count_parse_errors_and_lose_no_other_entry(
    caplog: pytest.LogCaptureFixture,
) -> None:
    alerts = recording("feedjira/google_alerts_atom.xml")
    third = alerts.index(b"<entry>", alerts.index(b"<entry>", alerts.index(b"<entry>") + 1) + 1)
    broken = {
        "/truncated": alerts[: third + 600],  # cut inside the third entry's content
        "/cdata": recording("feedparser/illformed__rss_incomplete_cdata.xml"),
        "/ampersands": recording("feedparser/illformed__rss_item_link_corrupted_ampersands.xml"),
        "/empty": recording("feedparser/illformed__rss_empty_document.xml"),
        "/namespace": recording("feedparser/illformed__undeclared_namespace.xml"),
        "/json": recording("feedjira/json_feed.json"),
    }
    host = FeedHost({path: Document(body, '"x"') for path, body in broken.items()})
    host.documents["/good"] = Document(recording("feedjira/TechCrunch.xml"), '"g"')
    registry = CollectorRegistry()
    async with serve(host.routes()) as server:
        source = rss([server.url + path + "?key=s3cret" for path in host.documents], registry)
        generator = pages_of(source)
        pages = [await anext(generator) for _ in host.documents]
        first_round_errors = errors(registry, "parse")
        host.documents["/truncated"] = Document(alerts, '"fixed"')
        repaired = [await anext(generator) for _ in host.documents]
        await generator.aclose()
    found = mentions(pages)
    alert_ids = list(google_alerts_expected(alerts))
    assert set(found) - {m for m in found if m.startswith("rss:http://techcrunch.com/?p=")} == set(
        alert_ids[:3]
    ) | {"rss:http://link/get?a=1&b=2"}
    assert len(found) == 3 + 1 + 20
    assert found["rss:http://link/get?a=1&b=2"].text == ""
    # truncated 1, cdata 2 (broken, entry with nothing in it), ampersands 1, empty 1, namespace 1, json 1
    assert first_round_errors == 7
    assert sum(page.cursor is not None for page in pages) == 4  # not the three unusable documents
    assert errors(registry, "parse") == 7 + 3  # their cursor was kept: fetched and counted again
    fixed = mentions(repaired)
    assert set(fixed) == set(alert_ids[3:]) | {alert_ids[2]}
    assert fixed[alert_ids[2]].edited_at is not None  # the cut third entry now has its whole text
    assert "s3cret" not in caplog.text


@pytest.mark.shared
async def test_undeclared_legacy_encodings_are_read_without_losing_the_entry() -> None:
    names = ["feedparser/illformed__chardet__shiftjis.xml", "feedparser/illformed__chardet__windows1255.xml"]
    host = FeedHost(
        {f"/{i}": Document(recording(name), f'"{i}"', "application/xml") for i, name in enumerate(names)}
    )
    registry = CollectorRegistry()
    async with serve(host.routes()) as server:
        found = mentions(await take(rss([server.url + "/0", server.url + "/1"], registry), None, 2))
    assert len(found) == 2
    assert all(m.id.startswith("rss:sha256:") and m.text for m in found.values())
    assert errors(registry, "parse") == 2  # CharacterEncodingOverride: declared UTF-8, read as a fallback


@pytest.mark.shared
async def test_shift_jis_is_decoded_when_chardet_is_installed() -> None:
    pytest.importorskip("chardet", reason="feedparser sniffs undeclared encodings only with chardet")
    parsed = parse_feed(recording("feedparser/illformed__chardet__shiftjis.xml"), None, "http://x/feed")
    assert plain_text(parsed.entries[0].title_detail).startswith("DrecomRSSに記事投稿")


@pytest.mark.shared
def test_guid_wins_over_link_for_the_id_and_link_wins_for_the_url() -> None:
    for name, url in [
        ("wellformed__rss__item_guid_isPermaLink_conflict_link.xml", "http://link.example.com/"),
        ("wellformed__rss__item_guid_guidislink.xml", "http://guid.example.com/"),
    ]:
        entry = parse_feed(recording(f"feedparser/{name}"), None, "http://x/feed").entries[0]
        key = native_id(entry, "http://x/feed")
        assert key == "http://guid.example.com/"
        mention = entry_mention(entry, key, "http://x/feed", None, NOW)
        assert (mention.id, mention.url, mention.created_at) == ("rss:http://guid.example.com/", url, NOW)
    for name in ["wellformed__rss__item_pubDate.xml", "wellformed__rss__item_dc_date.xml"]:
        entry = parse_feed(recording(f"feedparser/{name}"), None, "http://x/feed").entries[0]
        assert native_id(entry, "http://x/feed") is None  # a date and nothing else: not a mention


@pytest.mark.shared
def test_atom_authors_and_xhtml_content() -> None:
    parsed = parse_feed(recording("feedjira/DuplicateContentAtomFeed.xml"), "utf-8", "http://x/feed")
    assert len(parsed.entries) == 10
    assert not parsed.broken
    mention = entry_mention(parsed.entries[0], native_id(parsed.entries[0], "x") or "", "x", None, NOW)
    assert mention.author.handle == "Tomaž"
    assert mention.created_at == datetime(2014, 7, 21, 19, 14, 39, tzinfo=UTC)
    assert mention.text.startswith("Down time\nYou might have noticed that for the past two days")
    escaped = parse_feed(recording("feedjira/AtomEscapedHTMLInPreTag.xml"), None, "http://x/feed")
    assert plain_text(escaped.entries[0].content[0]) == "This is escaped html:\n<b>test<b>"


@pytest.mark.shared
async def test_max_entries_and_the_remembered_ids_are_bounded() -> None:
    body = recording("feedjira/google_alerts_atom.xml")
    host = FeedHost({"/alerts": Document(body, '"v1"')})
    async with serve(host.routes()) as server:
        source = rss([server.url + "/alerts"], CollectorRegistry(), max_entries_per_feed=5, remember_ids=3)
        generator = pages_of(source)
        first = await anext(generator)
        host.documents["/alerts"] = Document(without_first_entry(body), '"v2"')
        second = await anext(generator)
        await generator.aclose()
    ids = list(google_alerts_expected(body))
    assert {m.id for m in first.mentions} == set(ids[:5])
    assert [m.id for m in second.mentions] == [ids[5]]
    assert first.cursor is not None
    assert second.cursor is not None
    (state,) = second.cursor["feeds"].values()
    assert len(state["seen"]) == 5  # never fewer than the entries in the feed, else they come back


def test_html_becomes_readable_text_and_escaped_markup_stays_text() -> None:
    detail = {
        "type": "text/html",
        "value": "<p>Acme&nbsp;<b>recall</b>  is\n real?</p><script>alert(1)</script>"
        "<ul><li>a</li><li>b</li></ul><p>&lt;b&gt; stays</p>",
    }
    assert plain_text(detail) == "Acme recall is real?\na\nb\n<b> stays"
    assert plain_text({"type": "text/plain", "value": " a <b> \n\n b "}) == "a <b>\nb"


def test_ids_are_printable_stable_and_scoped_to_the_feed_when_not_uris() -> None:
    assert real_url("https://www.google.com/url?rct=j&url=https://acme.example/a%20b&ct=ga") == (
        "https://acme.example/a b"
    )
    assert real_url("https://www.google.com/search?q=acme") == "https://www.google.com/search?q=acme"
    assert (
        native_id({"id": "https://acme.example/ünï code"}, "http://f")
        == "https://acme.example/%C3%BCn%C3%AF%20code"
    )
    short = [native_id({"id": "2"}, feed) for feed in ("http://a/feed", "http://b/feed")]
    assert short[0] != short[1]
    assert all(s and s.startswith("sha256:") for s in short)
    long_guid = native_id({"id": "https://acme.example/" + "x" * 600}, "http://f")
    assert long_guid
    assert len(long_guid) == 39
    assert long_guid == native_id({"id": "https://acme.example/" + "x" * 600}, "http://g")
    assert native_id({"title": "Acme recall"}, "http://a") != native_id({"title": "Acme recall"}, "http://b")


def test_options_are_checked_without_echoing_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def build(feeds: list[str], **options: object) -> RssSource:
        return rss(feeds, CollectorRegistry(), **options)

    with pytest.raises(ValueError, match=r"poll_second\n  Extra inputs are not permitted"):
        build(["https://a.example/feed"], poll_second=5)
    with pytest.raises(ValueError, match="no feeds"):
        build([])
    with pytest.raises(ValueError, match="feed 1 is not an http") as raised:
        build(["ftp://secret-token@a.example/feed"])
    assert "secret" not in str(raised.value)
    with pytest.raises(ValueError, match="feeds\n  Input should be a valid list") as raised:
        build("https://a.example/feed?token=s3cret")  # type: ignore[arg-type]
    assert "s3cret" not in str(raised.value)
    with pytest.raises(ValueError, match="poll_seconds\n  Input should be greater than 0"):
        build(["https://a.example/feed"], poll_seconds=0)
    listed = tmp_path / "feeds.txt"
    listed.write_text("# private Google Alerts\nhttps://www.google.com/alerts/feeds/1/2\n\n")
    monkeypatch.setenv("NEWS_FEEDS", "https://b.example/rss https://a.example/feed")
    source = build(["https://a.example/feed"], feeds_file=str(listed), feeds_env="NEWS_FEEDS")
    assert [f.url for f in source.feeds] == [
        "https://a.example/feed",
        "https://www.google.com/alerts/feeds/1/2",
        "https://b.example/rss",
    ]
    with pytest.raises(ValueError, match=r"feeds_file .*missing\.txt cannot be read"):
        build([], feeds_file=str(tmp_path / "missing.txt"))
    with pytest.raises(ValueError, match="MISSING_FEEDS"):
        build([], feeds_env="MISSING_FEEDS")


async def test_missing_and_looping_feeds_are_skipped_and_logged_without_their_url(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = CollectorRegistry()
    caplog.set_level(logging.WARNING)

    def loop(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "/loop?token=s3cret"})

    async with serve({"/gone": [web.Response(status=404)], "/loop": loop}) as server:
        feeds = [server.url + "/gone?token=s3cret", server.url + "/loop?token=s3cret"]
        pages = await take(rss(feeds, registry), None, 4)
    assert [(p.mentions, p.cursor) for p in pages] == [([], None)] * 4
    assert errors(registry, "http_4xx") == 2
    assert errors(registry, "network") == 2
    assert "feed 1 (127.0.0.1) skipped this round (404)" in caplog.text
    assert "feed 2 (127.0.0.1) skipped this round (TooManyRedirects)" in caplog.text
    assert "s3cret" not in caplog.text
