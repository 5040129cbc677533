"""Mastodon wire formats and feed names -> brandmon mentions, with no I/O, tested on real payloads.

One status reaches us three ways (a REST timeline page, an SSE event, a WebSocket frame) and must
become the same `Mention` every time:

- The id is `mastodon:<instance host>/<status id>`: status ids are numbered by each instance (the
  same remote post has a different id on every instance, and two instances can hand out the same
  number), so the host we read from is part of the id. Anything outside printable ASCII is
  percent-encoded, as the contract asks.
- A boost is a wrapper status around the original; the original is what was written, so it is
  what we publish (its own id, text and author), never the empty wrapper.
- `edited_at` is set only when the connector publishes an edit (`status.update`, or a re-polled
  status whose `edited_at` changed): downstream counts a mention carrying `edited_at` as a
  correction of one already counted, so a post first seen after its author edited it must go out
  without it or it would never be counted.
- Only the visibilities asked for are kept (default `public`): the home stream also carries
  followers-only posts and direct messages, which are not public mentions.
- Handles are fully qualified (`@user@host`): a local account's `acct` is bare, and `@admin` on two
  instances are two people.
- A feed is one timeline with the stream that carries the same posts (`tag/acme` <-> `hashtag`),
  so a stream can catch up on its timeline after a reconnect.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlsplit

import orjson

from brandmon.schemas import Author, Engagement, Mention

SOURCE = "mastodon"
_ID_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "%")
_BLOCKS = frozenset({"p", "br", "li", "ul", "ol", "blockquote", "pre", "div", "h1", "h2", "h3", "h4"})


PUBLIC = "/api/v1/timelines/public"
TIMELINES: dict[str, tuple[str, tuple[tuple[str, str], ...], str]] = {
    "public": (PUBLIC, (), "public"),
    "public:local": (PUBLIC, (("local", "true"),), "public:local"),
    "public:remote": (PUBLIC, (("remote", "true"),), "public:remote"),
    "home": ("/api/v1/timelines/home", (), "user"),
}
"""Timeline name -> REST path, its parameters, and the stream carrying the same posts."""
STREAMS = {"public": "public", "public:local": "public:local", "public:remote": "public:remote"}
STREAMS |= {"user": "home", "hashtag": "tag/{}", "hashtag:local": "tag:local/{}"}
"""Stream name (option `stream`) -> its timeline."""


@dataclass(frozen=True, slots=True)
class Feed:
    key: str
    """Timeline name, also the cursor key: `public`, `tag/acme`, `home`, `account/123`."""
    path: str
    params: tuple[tuple[str, str], ...]
    stream: str
    tag: str | None = None


def feed(name: str) -> Feed:
    if name in TIMELINES:
        return Feed(name, *TIMELINES[name])
    kind, _, value = name.partition("/")
    if kind in ("tag", "tag:local") and value:
        local = (("local", "true"),) if kind == "tag:local" else ()
        path = f"/api/v1/timelines/tag/{quote(value, safe='')}"
        return Feed(name, path, local, "hashtag:local" if local else "hashtag", value)
    if kind == "account" and value:
        return Feed(name, f"/api/v1/accounts/{quote(value, safe='')}/statuses", (), "")
    known = "public, public:local, public:remote, home, tag/<tag>, tag:local/<tag>, account/<id>"
    raise ValueError(f"mastodon timeline {name!r} is not one of {known}")


def feeds(options: Mapping[str, Any]) -> list[Feed]:
    """The feeds the options ask for: `timelines` when polling, `stream` (and `tags`) when streaming."""
    mode = options.get("mode", "stream")
    if mode == "poll":
        return [feed(str(name)) for name in options.get("timelines", ["public"])]
    if mode != "stream":
        raise ValueError(f"mastodon mode {mode!r} is neither stream nor poll")
    stream = str(options.get("stream", "public"))
    if stream not in STREAMS:
        raise ValueError(f"mastodon stream {stream!r} is not one of {', '.join(STREAMS)}")
    if not stream.startswith("hashtag"):
        return [feed(STREAMS[stream])]
    tags = [str(t).lstrip("#") for t in options.get("tags", [])]
    if not tags:
        raise ValueError(f"mastodon stream {stream} needs `tags: [...]`")
    return [feed(STREAMS[stream].format(t)) for t in tags]


class UnreadableStatus(ValueError):
    """A status or event that does not have the shape the Mastodon API documents."""


@dataclass(frozen=True, slots=True)
class StreamEvent:
    name: str
    payload: str | None
    stream: tuple[str, ...] = ()
    """WebSocket only: the subscription it belongs to, e.g. `("hashtag", "acme")`."""


def instance_host(url: str) -> str:
    """`https://Mastodon.Social/` -> `mastodon.social` (IDNA-encoded; the port kept if given)."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise ValueError(f"instance {url!r} is not a URL like https://mastodon.social")
    host = parts.hostname.encode("idna").decode("ascii")
    return f"{host}:{parts.port}" if parts.port else host


def mention_id(host: str, status_id: str) -> str:
    return f"{SOURCE}:" + quote(f"{host}/{status_id}", safe=_ID_SAFE)


def id_order(status_id: str) -> tuple[int, str]:
    """Sort key for status ids: numeric strings (Mastodon snowflakes) by value, others as text."""
    return (len(status_id), status_id)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(html: str) -> str:
    """Mastodon's sanitised HTML as one line of text: paragraphs and line breaks become spaces,
    link texts are kept whole (its hidden `https://` and ellipsis spans joined back into the URL)."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return " ".join("".join(parser.parts).split())


MAX_COUNT = 2**63 - 1
"""Counts beyond this are unknown (None): the REST API's JSON may hold any integer, and orjson
cannot write one past 64 bits, so the mention could not be published at all."""


def _count(value: Any) -> int | None:
    valid = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT
    return value if valid else None


def original(status: Mapping[str, Any]) -> Mapping[str, Any]:
    """The post itself: the boosted status for a boost, else the status."""
    reblog = status.get("reblog")
    return reblog if isinstance(reblog, Mapping) else status


def status_mention(
    status: Mapping[str, Any],
    host: str,
    fetched_at: datetime,
    *,
    edited: bool = False,
    visibility: Collection[str] = ("public",),
) -> Mention | None:
    """The mention for a status (a boost gives its original); None when its visibility is not
    wanted. `edited`: publish as an edit, with the status's `edited_at`. Raises UnreadableStatus."""
    post = original(status)
    try:
        if post.get("visibility") not in visibility:
            return None
        account = post["account"]
        acct = str(account["acct"])
        spoiler = html_to_text(str(post.get("spoiler_text") or ""))
        text = html_to_text(str(post.get("content") or ""))
        language = post.get("language")
        reply = post.get("in_reply_to_id")
        return Mention(
            id=mention_id(host, str(post["id"])),
            source=SOURCE,
            url=post.get("url") or post.get("uri"),
            author=Author(
                id=str(account["id"]),
                handle="@" + (acct if "@" in acct else f"{acct}@{host}"),
                followers=_count(account.get("followers_count")),
            ),
            text=f"{spoiler} {text}".strip(),
            lang_declared=language if isinstance(language, str) and language else None,
            created_at=post["created_at"],
            fetched_at=fetched_at,
            reply_to=mention_id(host, str(reply)) if reply else None,
            engagement=Engagement(
                likes=_count(post.get("favourites_count")),
                reshares=_count(post.get("reblogs_count")),
                replies=_count(post.get("replies_count")),
            ),
            edited_at=(post.get("edited_at") or fetched_at) if edited else None,
        )
    except (KeyError, TypeError, AttributeError, ValueError, OverflowError) as error:
        # ValueError includes pydantic's ValidationError; OverflowError: a `created_at` such as
        # 0001-01-01T00:00+01:00 that has no UTC equivalent.
        raise UnreadableStatus(f"status {status.get('id')!r}: {type(error).__name__}") from None


def load_status(payload: str | bytes | None) -> Mapping[str, Any]:
    """A status from an event payload (JSON text); raises UnreadableStatus."""
    try:
        status = orjson.loads(payload or b"")
    except orjson.JSONDecodeError:
        raise UnreadableStatus("event payload is not JSON") from None
    if not isinstance(status, dict) or not isinstance(status.get("id"), str | int):
        raise UnreadableStatus("event payload is not a status")
    return status


async def sse_events(lines: AsyncIterator[str]) -> AsyncIterator[StreamEvent]:
    """Server-sent events from decoded lines: `:` comments (Mastodon's `:)` / `:thump` heartbeats)
    are skipped, `data:` lines of one event are joined with newlines, a blank line dispatches. An
    event cut off by the end of the stream is dropped, as the SSE spec says."""
    name = ""
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                yield StreamEvent(name or "message", "\n".join(data))
            name, data = "", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)


def ws_event(frame: str | bytes) -> StreamEvent | None:
    """A WebSocket frame `{"stream": [...], "event": ..., "payload": "<JSON as a string>"}`; an
    error frame gives event `error`; None when the frame is unreadable."""
    try:
        message = orjson.loads(frame)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(message, dict):
        return None
    if "error" in message:
        return StreamEvent("error", str(message["error"]))
    payload, stream = message.get("payload"), message.get("stream")
    return StreamEvent(
        str(message.get("event", "")),
        payload if isinstance(payload, str) else None,
        tuple(str(s) for s in stream) if isinstance(stream, list) else (),
    )


def link_url(header: str | None, rel: str) -> str | None:
    """The URL of `rel` in a Link header: `<https://...?min_id=1>; rel="prev", <...>; rel="next"`."""
    for part in (header or "").split(","):
        url, _, params = part.partition(";")
        if f'rel="{rel}"' in params.replace(" ", "") or f"rel={rel}" in params.replace(" ", ""):
            return url.strip().removeprefix("<").removesuffix(">")
    return None
