"""Hostile feed documents for the RSS/Atom parser: generated feeds with hostile values in every
element, byte-level mutations of them and of the recorded feeds in ../shared/fixtures/rss.

`native_id`, `entry_text` and `entry_moment` never raise (the connector calls them without a
handler); `entry_mention` raises only ValidationError, which the connector counts as a parse
error. `parse_feed` may raise where feedparser itself fails on a broken document (a KeyError from
its loose parser, an encoding declaration of non-ASCII bytes): the connector counts, logs and skips
that one feed. Shared with the fuzz run (`python -m bench.fuzz`)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from html import escape

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from brandmon.schemas import Mention, dumps
from connectors.rss_parse import entry_mention, entry_moment, entry_text, native_id, parse_feed
from tests.conftest import SHARED
from tests.test_hostile_input import SUITE, Target, _spliced, hostile_text, huge, posts

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")  # a failing feed is large
FEW = settings(SUITE, max_examples=40)
"""feedparser takes milliseconds a document."""
NOW = datetime(2025, 1, 1, tzinfo=UTC)
FEED_URL = "https://feeds.example.com/acme.xml"
SNIPPETS = [
    b"<![CDATA[", b"]]>", b"&#0;", b"&#xD800;", b"&#1114112;", b"&amp", b"&undefined;", b"<", b"</item>",
    b'<?xml version="1.0" encoding="utf-16"?>', b'<?xml version="1.0" encoding="bogus"?>', b"\xff\xfe",
    b"\xef\xbb\xbf", b"\x00", b"\xc3", b'<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>', b"&x;",
    b"<b>" * 500, b"http://[x/", b"<link>http://[x</link>", b"<guid>http://[::1</guid>",
]  # fmt: skip
LINKS = [
    "https://acme.com/a", "http://[x/", "http://[::1", "https://www.google.com/url?url=http://[x&q=y",
    "https://www.google.com/url?q=javascript:alert(1)", "//acme.com", "/relative", "mailto:x@acme.com",
    "https://acme.com/" + "a" * 5000, "\x00", "",
]  # fmt: skip
DATES = [
    "Mon, 01 Jan 0001 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 -2359", "Sat, 30 Feb 2024 12:00:00 GMT",
    "2024-05-01T12:00:00+99:99", "yesterday", "", "Tue, 10 Jun 2003 04:00:00 +0000",
]  # fmt: skip
ELEMENTS = ["title", "link", "guid", "description", "pubDate", "author", "slash:comments", "content:encoded"]
ELEMENTS += ["dc:creator", "dc:language", "feedburner:origLink", "updated", "summary"]


def _document(kind: str, language: str, items: list[list[tuple[str, str]]]) -> bytes:
    body = "".join(
        ("<item>" if kind == "rss" else "<entry>")
        + "".join(f"<{name}>{value}</{name}>" for name, value in item)
        + ("</item>" if kind == "rss" else "</entry>")
        for item in items
    )
    if kind == "rss":
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/'
            'modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:slash="http://purl.org/rss/'
            f'1.0/modules/slash/"><channel><title>t</title><language>{language}</language>{body}</channel></rss>'
        ).encode("utf-8", "surrogatepass")
    return (
        f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{language}">{body}</feed>'
    ).encode("utf-8", "surrogatepass")


def generated_feeds(max_value: int) -> st.SearchStrategy[bytes]:
    """RSS 2.0 and Atom documents whose elements hold hostile values: escaped, in CDATA, or raw
    (which may break the XML)."""
    values = st.one_of(
        hostile_text, posts, st.sampled_from(LINKS), st.sampled_from(DATES), huge(hostile_text, max_value)
    )
    written = st.one_of(values.map(escape), values.map(escape), values.map("<![CDATA[{}]]>".format), values)
    language = st.one_of(
        st.sampled_from(["en", "de-AT", "x" * 40, '"', "e\u200bn"]), hostile_text.map(escape)
    )
    items = st.lists(st.lists(st.tuples(st.sampled_from(ELEMENTS), written), max_size=8), max_size=5)
    return st.builds(_document, st.sampled_from(["rss", "atom"]), language, items)


charsets = st.sampled_from([None, "utf-8", "latin-1", "utf-16", "shift_jis", "bogus-charset", ""])


def mutated_bytes(documents: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """A document with one to three spans replaced by snippets that break XML, HTML or encodings."""
    change = st.tuples(
        st.integers(0, 2**20), st.sampled_from(SNIPPETS) | st.binary(max_size=8), st.integers(0, 40)
    )

    def apply(document: bytes, changes: list[tuple[int, bytes, int]]) -> bytes:
        for where, insert, cut in changes:
            document = _spliced(document, where, insert, cut)
        return document

    return st.builds(apply, documents, st.lists(change, min_size=1, max_size=3))


def feeds(max_value: int) -> st.SearchStrategy[bytes]:
    generated = generated_feeds(max_value)
    return st.one_of(generated, mutated_bytes(generated), st.binary(max_size=300))


def check_feed(case: tuple[bytes, str | None]) -> None:
    document, charset = case
    try:
        parsed = parse_feed(document, charset, FEED_URL)
    except Exception:  # feedparser's own bugs: `rss` counts, logs and skips this feed
        return
    for entry in parsed.entries[:50]:
        entry_text(entry)
        entry_moment(entry, "updated")
        key = native_id(entry, FEED_URL)
        if key is None:
            continue
        assert all("\x21" <= char <= "\x7e" for char in key), key  # printable ASCII, as ids must be
        assert len(key) <= 256
        try:
            mention = entry_mention(entry, key, FEED_URL, parsed.language, NOW)
        except ValidationError:
            continue
        assert mention.id == f"rss:{key}"
        assert Mention.model_validate_json(dumps(mention)) == mention


RSS_LINK = b'<rss version="2.0"><channel><item><title>acme</title><guid>urn:x</guid><link>%s</link></item>'
RSS_LINK += b"</channel></rss>"


@FEW
@given(st.tuples(feeds(2_000), charsets))
@example((RSS_LINK % b"https://www.google.com/url?url=http://[x", None))  # urlsplit raised ValueError
@example((RSS_LINK.replace(b"<guid>urn:x", b'<guid isPermaLink="false">http://[::1') % b"", None))
def test_feeds_become_entries_mentions_or_counted_parse_errors(case: tuple[bytes, str | None]) -> None:
    check_feed(case)


@cache
def recorded_feeds() -> list[bytes]:
    folder = SHARED / "fixtures" / "rss"
    return [path.read_bytes() for path in sorted(folder.glob("*/*.xml"))]


@pytest.mark.shared
@settings(FEW, max_examples=20)
@given(st.data())
def test_mutated_recorded_feeds(data: st.DataObject) -> None:
    documents = recorded_feeds()
    if not documents:
        pytest.skip("../shared/fixtures/rss is not checked out")
    check_feed((data.draw(mutated_bytes(st.sampled_from(documents))), data.draw(charsets)))


def fuzz_targets() -> list[Target]:
    targets = [Target("rss feeds (generated)", st.tuples(feeds(60_000), charsets), check_feed)]
    if documents := recorded_feeds():
        recorded = mutated_bytes(st.sampled_from(documents))
        targets.append(Target("rss feeds (recorded, mutated)", st.tuples(recorded, charsets), check_feed))
    return targets


@pytest.mark.parametrize(
    "reference", [b"&#xD800;", b"&#1114112;", b"&#99999999999;", b"&#" + b"0" * 5000 + b"65;"]
)
def test_a_reference_to_no_character_costs_that_character_not_the_feed(reference: bytes) -> None:
    """feedparser's loose parser raised on these (UnicodeEncodeError, ValueError): the feed was lost."""
    document = b"<rss version='2.0'><channel><item><title>acme" + reference + b"</title><guid>urn:1</guid>"
    parsed = parse_feed(document + b"</item></channel></rss>", None, FEED_URL)
    assert [entry.get("title") for entry in parsed.entries] == [
        "acme" + ("A" if b"65" in reference else "\ufffd")
    ]


def test_a_mislabelled_encoding_is_still_detected_from_a_bounded_sample() -> None:
    """A feed that says UTF-8 but is windows-1251, with a 20,000-letter run (chardet scans such runs
    in quadratic time, so parse_feed gives it a sample with the runs cut): still read as Cyrillic."""
    title = "Новый продукт Acme: обзор, цены и отзывы покупателей"
    document = (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title><item>'
        f"<title>{title}</title><guid>urn:1</guid><description>{'a' * 20_000} .</description>"
        f"</item></channel></rss>"
    ).encode("windows-1251")
    parsed = parse_feed(document, None, FEED_URL)
    assert [entry.get("title") for entry in parsed.entries] == [title]
