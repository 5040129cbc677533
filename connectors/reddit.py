"""Reddit submissions and comments from subreddits and searches, with an application-only token.

As PRAW's streams do, a listing is read with `before=<newest fullname published>`, which answers
the items just newer than it; a full page means more follow, so it is read again from the new
newest. When that item has gone (`before` a deleted item answers nothing) or a poll found nothing,
the next poll reads the newest page without `before` and follows `after` back (up to 1000 items)
until it meets a fullname of the bounded seen-set, so a burst while idle leaves no gap. Pages go
out oldest first, each with the cursor (newest fullname, seen-set) that follows it.

Listings do not re-deliver later edits or deletions: an item already `[deleted]`/`[removed]` when
read becomes a Deletion, one already edited a Mention with `edited_at`. The app's id and secret
come from environment variables or files named in the options and never reach logs, errors or
the cursor (they are loaded, and the token fetched, in `connectors.reddit_oauth`). Options are
listed in README.md (Connectors: Reddit).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError

from brandmon.schemas import Author, Deletion, Engagement, Mention
from connectors.http import RetryingClient
from connectors.reddit_oauth import AppToken
from connectors.reddit_oauth import RedditAuthError as RedditAuthError  # re-exported: it moved there
from connectors.source import Cursor, Page, Source, SourceContext

log = logging.getLogger(__name__)
LIMIT = 100
CATCH_UP_PAGES = 10
SEEN_MAX = 300
GONE = {"[deleted]", "[removed]"}
SUBREDDIT = re.compile(r"^[A-Za-z0-9_]{2,21}(\+[A-Za-z0-9_]{2,21})*$")
Thing = dict[str, Any]


def thing_to_item(kind: str, data: Mapping[str, Any], now: datetime) -> Mention | Deletion | None:
    """A submission (t3) or comment (t1) as a Mention, or a Deletion once it is deleted or removed."""
    if kind not in ("t1", "t3"):
        return None
    item_id, comment = f"reddit:{quote(str(data['name']), safe='')}", kind == "t1"
    body = data.get("body" if comment else "selftext") or ""
    if body in GONE or (not comment and data.get("removed_by_category")):
        return Deletion(id=item_id, deleted_at=now)
    edited, author, score = data.get("edited"), data.get("author"), data.get("score")
    replies, parent = data.get("num_comments"), data.get("parent_id" if comment else "crosspost_parent")
    return Mention(
        id=item_id,
        source="reddit",
        url=f"https://www.reddit.com{data['permalink']}",
        author=Author(
            id=data.get("author_fullname"), handle=f"u/{author}" if author and author not in GONE else None
        ),
        text=body if comment else "\n\n".join(p for p in (data.get("title") or "", body) if p),
        created_at=datetime.fromtimestamp(float(data["created_utc"]), UTC),
        fetched_at=now,
        reply_to=f"reddit:{parent}" if comment and parent else None,
        reshare_of=f"reddit:{parent}" if not comment and parent else None,
        edited_at=None if isinstance(edited, bool) or edited is None else datetime.fromtimestamp(edited, UTC),
        engagement=Engagement(
            likes=max(score, 0) if isinstance(score, int) else None,
            replies=replies if isinstance(replies, int) and replies >= 0 else None,
        ),
    )


@dataclass
class ListingState:
    before: str | None = None
    seen: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Listing:
    key: str
    path: str
    params: tuple[tuple[str, str], ...] = ()


class RedditSource(Source):
    kind = "reddit"
    _auth: RetryingClient  # www.reddit.com, for tokens; set by `pages`
    _oauth: RetryingClient  # oauth.reddit.com, for listings

    def __init__(self, options: Mapping[str, Any], context: SourceContext) -> None:
        super().__init__(options, context)
        self.user_agent = str(self.options.get("user_agent") or "")
        if not self.user_agent:
            raise ValueError("reddit: option `user_agent` is required, e.g. 'linux:brandmon:1.0 (by /u/you)'")
        self._app_token = AppToken(options)  # reads the id and secret now: fail at start-up
        subreddits, searches = self.options.get("subreddits") or [], self.options.get("searches") or []
        if bad := [s for s in subreddits if not SUBREDDIT.match(str(s))]:
            raise ValueError(f"reddit: not subreddit names: {bad}")
        parts = ("new", "comments")
        self.listings = [Listing(f"r/{s}/{p}", f"/r/{s}/{p}") for s in subreddits for p in parts]
        self.listings += [
            Listing(f"search:{q}", "/search", (("q", str(q)), ("sort", "new"))) for q in searches
        ]
        if not self.listings:
            raise ValueError("reddit: configure `subreddits` or `searches`")
        self.auth_url = str(self.options.get("auth_url", "https://www.reddit.com")).rstrip("/")
        self.oauth_url = str(self.options.get("oauth_url", "https://oauth.reddit.com")).rstrip("/")
        self.poll_seconds = float(self.options.get("poll_seconds", 60))
        self.once = bool(self.options.get("once", False))

    async def pages(self, cursor: Cursor | None) -> AsyncIterator[Page]:
        saved = (cursor or {}).get("listings") or {}
        states = {listing.key: ListingState() for listing in self.listings}
        for key, state in states.items():
            if isinstance(entry := saved.get(key), dict):
                state.before = entry["before"] if isinstance(entry.get("before"), str) else None
                state.seen = [str(name) for name in entry.get("seen") or []]
        headers = {"User-Agent": self.user_agent}
        self._auth = self.context.http(base_url=self.auth_url, headers=headers, timeout=30.0)
        self._oauth = self.context.http(base_url=self.oauth_url, headers=headers, timeout=30.0)
        try:
            while True:
                for listing in self.listings:
                    async for things in self._fresh(listing, states[listing.key]):
                        mentions, deletions = self._items(things, states[listing.key])
                        yield Page(mentions, deletions, self._cursor(states))
                yield Page(cursor=self._cursor(states))  # lets the runner see `stop` on a quiet poll
                if self.once:
                    return
                await asyncio.sleep(self.poll_seconds)
        finally:
            await self._auth.aclose()
            await self._oauth.aclose()

    @staticmethod
    def _cursor(states: Mapping[str, ListingState]) -> Cursor:
        return {"listings": {key: {"before": s.before, "seen": list(s.seen)} for key, s in states.items()}}

    def _items(self, things: list[Thing], state: ListingState) -> tuple[list[Mention], list[Deletion]]:
        """What `things` (oldest first) hold that was not seen before; moves `state` past them."""
        now, seen = datetime.now(UTC), set(state.seen)
        mentions: list[Mention] = []
        deletions: list[Deletion] = []
        for thing in things:
            name = str(thing["data"]["name"])
            if name in seen:
                continue
            seen.add(name)
            state.before, state.seen = name, [*state.seen, name][-SEEN_MAX:]
            try:
                item = thing_to_item(thing["kind"], thing["data"], now)
            except (KeyError, TypeError, ValueError, OverflowError, OSError, ValidationError) as error:
                self.context.health.error("parse")
                log.warning("%s: skipped reddit item %s: %s", self.name, name, str(error)[:200])
                continue
            if isinstance(item, Mention):
                mentions.append(item)
            elif isinstance(item, Deletion):
                deletions.append(item)
        return mentions, deletions

    async def _fresh(self, listing: Listing, state: ListingState) -> AsyncIterator[list[Thing]]:
        """Pages of things newer than the cursor, oldest first; `state` moves between them."""
        before = state.before
        while before is not None:
            things, _ = await self._listing(listing, before=before)
            if not things:
                state.before = None  # gone, or nothing new: the next poll reads the newest page
            known = set(state.seen)
            new = any(str(t["data"]["name"]) not in known for t in things)
            yield things[::-1]
            if len(things) < LIMIT or not new:
                return
            before = str(things[0]["data"]["name"])
        collected: list[Thing] = []
        after: str | None = None
        seen = set(state.seen)
        for _ in range(CATCH_UP_PAGES):
            things, after = await self._listing(listing, after=after)
            met = [i for i, t in enumerate(things) if str(t["data"]["name"]) in seen]
            collected += things[: met[0]] if met else things
            if not seen or met or after is None or len(things) < LIMIT:
                break
        unique = list({str(t["data"]["name"]): t for t in reversed(collected)}.values())
        for start in range(0, len(unique), LIMIT):
            yield unique[start : start + LIMIT]

    async def _listing(self, listing: Listing, **cursor: str | None) -> tuple[list[Thing], str | None]:
        """One page of a listing, newest first, and its `after`; nothing if the listing is closed."""
        params = dict(listing.params) | {"limit": str(LIMIT), "raw_json": "1"}
        params |= {key: value for key, value in cursor.items() if value is not None}
        response = await self._app_token.authorized_get(self._auth, self._oauth, listing.path, params)
        if response.status_code != 200:  # private (403), banned (404), no such subreddit (302)
            log.warning("%s: %s answered %d; skipped", self.name, listing.path, response.status_code)
            return [], None
        body = response.json()
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("children"), list):
            self.context.health.error("parse")
            raise ValueError(f"reddit: {listing.path} did not answer a listing")
        things = [t for t in data["children"] if isinstance(t, dict) and isinstance(t.get("data"), dict)]
        things = [t for t in things if isinstance(t["data"].get("name"), str)]
        return things, data["after"] if isinstance(data.get("after"), str) else None
