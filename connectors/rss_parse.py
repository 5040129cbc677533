"""Feed documents to mentions: the pure half of the RSS/Atom connector (no network, no state).

feedparser does the hard part (RSS 0.9x/1.0/2.0 and Atom, encodings, dates, HTML sanitising, a
loose parser for broken XML). Around it we fix what real feeds get wrong:

- A blank line before `<?xml` (WordPress plugins, TechCrunch) makes the strict parser give up; we
  drop leading whitespace so the document parses as XML instead of falling back to the loose parser.
- The feed is parsed as `application/xml`, keeping only the charset the server sent: `text/xml`
  without one means US-ASCII by RFC 3023, which no feed honours, and servers label feeds
  `text/html`. The document's own encoding declaration then decides, as in every feed reader.
- A document that does not decode as it says is handed to chardet, whose scan is quadratic in runs
  of ASCII letters (8,000 took 5.6 s; a feed of them stalled the source for minutes): chardet sees
  the first 64 KiB with such runs cut to 64 letters, enough for its guess, which rests on the
  bytes beyond ASCII (`_guess_encoding`, installed as feedparser's detector).
- A numeric character reference to no character (`&#xD800;`) made feedparser raise: it becomes
  U+FFFD, so one bad reference costs one character, not the feed.
- Google Alerts links are `google.com/url?...&url=<real>` redirects and FeedBurner links go through
  feedproxy: the mention's URL is the real one, so `site:` queries work.

Ids are `rss:<guid>` (else the link), percent-encoded to printable ASCII, so one article carried by
several feeds is one mention. A guid that is not a URI (`"2"`) and an entry with only a title or a
description are hashed together with the feed URL, because they are only unique within their feed.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit, urlunsplit

import chardet
import feedparser
import feedparser.encodings

from brandmon.schemas import Author, Engagement, Mention

SOURCE = "rss"
MAX_TEXT_CHARS = 50_000
"""Longer article bodies are cut: a mention must fit a 256 KiB raw message."""
_PRINTABLE = "".join(chr(c) for c in range(0x21, 0x7F))
_BLOCK_TAGS = (  # elements that start a new line of text
    "address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 "
    "header hr li main nav ol p pre section table td th tr ul"
)
_BLOCKS = frozenset(_BLOCK_TAGS.split())
_HIDDEN = frozenset({"script", "style", "noscript", "template"})
_LINE_BREAKS = str.maketrans("\r\n\f\v", "    ")


class _TextExtractor(HTMLParser):
    """Text of an HTML fragment: entities resolved, block elements on their own lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._depth = {"hidden": 0, "pre": 0}

    def _count(self, tag: str, step: int) -> None:
        kind = "hidden" if tag in _HIDDEN else "pre" if tag == "pre" else None
        if kind:
            self._depth[kind] = max(0, self._depth[kind] + step)
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._count(tag, 1)

    def handle_endtag(self, tag: str) -> None:
        self._count(tag, -1)

    def handle_data(self, data: str) -> None:
        if not self._depth["hidden"]:  # line breaks in HTML source are spaces, except in <pre>
            self.parts.append(data if self._depth["pre"] else data.translate(_LINE_BREAKS))


def _tidy(text: str) -> str:
    """Whitespace collapsed within lines; blank lines dropped."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def plain_text(detail: Any) -> str:
    """The readable text of a feedparser text construct (`title_detail`, `content[0]`, ...)."""
    if not detail:
        return ""
    value = str(detail.get("value") or "")
    if "html" not in str(detail.get("type") or ""):
        return _tidy(value)
    extractor = _TextExtractor()
    extractor.feed(value)
    extractor.close()
    return _tidy("".join(extractor.parts))


def real_url(link: str | None) -> str | None:
    """The article behind a Google redirect (`google.com/url?url=...` or `?q=...`), else the link."""
    if not link:
        return None
    try:
        parts = urlsplit(link)
        host = (parts.hostname or "").lower()
    except ValueError:  # `http://[x`: not a URL we can read, so not a redirect either
        return link
    if (host == "google.com" or host.endswith(".google.com")) and parts.path == "/url":
        query = parse_qs(parts.query)
        for target in query.get("url", []) + query.get("q", []):
            if _scheme(target) in ("http", "https"):
                return target
    return link


def _scheme(value: str) -> str:
    """The URL scheme of `value`; empty when it has none or is not a URL urllib can split."""
    try:
        return urlsplit(value).scheme
    except ValueError:
        return ""


def _hashed(*parts: str) -> str:
    return "sha256:" + hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def native_id(entry: Any, feed_url: str) -> str | None:
    """A stable printable id for the entry: guid, else link, else its text (with the feed URL)."""
    guid = str(entry.get("id") or "").strip()
    if guid:
        if len(_scheme(guid)) < 2:  # "2", "post-17": unique only within the feed
            return _hashed(feed_url, "guid", guid)
        key = guid
    elif link := real_url(str(entry.get("link") or "").strip()):
        key = link
    elif text := str(entry.get("title") or "").strip() or entry_text(entry):  # RSS: title or description
        return _hashed(feed_url, "text", text)
    else:
        return None
    encoded = quote(key, safe=_PRINTABLE)
    return encoded if len(encoded) <= 256 else _hashed(key)


def entry_moment(entry: Any, *fields: str) -> datetime | None:
    """The first of the entry's dates (`published`, `updated`, ...) that feedparser could read.

    Only dates the entry has: feedparser answers `updated_parsed` with `published_parsed` when an
    entry has no update (with a DeprecationWarning), which would make every entry look updated."""
    for name in fields:
        key = f"{name}_parsed"
        parsed = entry.get(key) if key in entry else None
        if parsed:
            try:
                return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
            except (OverflowError, ValueError, OSError):
                continue
    return None


def _language(entry: Any, feed_language: str | None) -> str | None:
    details = [*entry.get("content", []), entry.get("summary_detail"), entry.get("title_detail")]
    for candidate in [*(d.get("language") for d in details if d), feed_language]:
        value = str(candidate or "").strip()
        if value.isascii() and len(value) <= 35 and all(part.isalnum() for part in value.split("-")):
            return value
    return None


def entry_text(entry: Any) -> str:
    """Title and body (the longest of content and summary: some feeds put the teaser in content)."""
    title = plain_text(entry.get("title_detail"))
    bodies = [plain_text(d) for d in [*entry.get("content", []), entry.get("summary_detail")]]
    body = max(bodies, key=len)
    text = title if not body or body == title else (f"{title}\n{body}" if title else body)
    return text[:MAX_TEXT_CHARS]


def entry_mention(
    entry: Any, key: str, feed_url: str, feed_language: str | None, fetched_at: datetime
) -> Mention:
    """The entry as a mention (pydantic's ValidationError when a field breaks the contract)."""
    author = entry.get("author_detail") or {}
    comments = str(entry.get("slash_comments") or "").strip()  # <slash:comments>, WordPress sends it
    replies = int(comments) if comments.isascii() and comments.isdigit() and len(comments) < 10 else None
    url = real_url(entry.get("feedburner_origlink") or entry.get("link"))
    return Mention(
        id=f"{SOURCE}:{key}",
        source=SOURCE,
        url=url if url and len(url) <= 4096 else None,
        author=Author(id=author.get("href") or None, handle=str(author.get("name") or "").strip() or None),
        text=entry_text(entry),
        lang_declared=_language(entry, feed_language),
        created_at=entry_moment(entry, "published", "updated", "created") or fetched_at,
        fetched_at=fetched_at,
        engagement=Engagement(replies=replies),
    )


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    entries: list[Any]
    language: str | None
    broken: bool
    """feedparser flagged the document (bozo): entries may be missing or mis-decoded."""
    usable: bool
    """A feed, even if an empty one; False for an empty or unparsable document."""


_LETTER_RUN = re.compile(rb"[a-zA-Z]{65,}")
CHARDET_SAMPLE = 65_536


def _guess_encoding(data: bytes) -> str:
    """chardet's guess of the encoding of `data`, from a sample it scans in linear time."""
    sample = _LETTER_RUN.sub(lambda run: run.group()[:64], data[:CHARDET_SAMPLE])
    return chardet.detect(sample)["encoding"] or ""


feedparser.encodings.lazy_chardet_encoding = _guess_encoding  # looked up on every parse


_CHARREF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+))")


def _existing_character(reference: re.Match[bytes]) -> bytes:
    """`&#xD800;` or `&#1114112;` name no character: feedparser's loose parser raised on them
    (UnicodeEncodeError, ValueError), losing the whole feed. They become U+FFFD."""
    hexadecimal, decimal = reference.groups()
    digits = (hexadecimal or decimal).lstrip(b"0") or b"0"
    if len(digits) <= 8:  # int() refuses decimals of over 4,300 digits
        value = int(digits, 16 if hexadecimal else 10)
        if value <= 0x10FFFF and not 0xD800 <= value <= 0xDFFF:
            return reference.group()
    return b"&#xFFFD"


def parse_feed(content: bytes, charset: str | None, url: str) -> ParsedFeed:
    stripped = content.lstrip(b" \t\r\n")
    data = stripped if stripped.startswith(b"<") else content  # never misalign UTF-16
    parts = urlsplit(url)
    headers = {
        "content-type": "application/xml" + (f"; charset={charset}" if charset else ""),
        "content-location": urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")),
    }
    result = feedparser.parse(_CHARREF.sub(_existing_character, data), response_headers=headers)
    entries = list(result.get("entries", []))
    broken = bool(result.get("bozo"))
    usable = bool(entries) or (not broken and bool(result.get("version")))
    language = result.get("feed", {}).get("language")
    return ParsedFeed(entries, str(language) if language else None, broken, usable)
