"""The `options:` of an `rss` source and what the cursor remembers of each feed.

Split from `connectors.rss` so the polling there reads on one screen. What sits here keeps secrets
and survives restarts; it does not fetch. The options gather feed URLs from the YAML, a file or an
environment variable, and since a URL may be a secret (private Google Alerts, tokens), validation
errors never echo a value and a `Feed` carries a hash of its URL for the cursor and a label
(position and host) for logs. `FeedState` is one feed's part of the cursor: its ETag and
Last-Modified, and hashes of each published entry's id and text, which is how a restart tells an
entry already published from one whose text changed.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field


def digest(text: str, chars: int) -> str:
    """The first `chars` hex digits of the SHA-256 of `text`: how the cursor names what it must not hold."""
    return hashlib.sha256(text.encode()).hexdigest()[:chars]


@dataclass(frozen=True, slots=True)
class Feed:
    url: str
    key: str
    """Hash of the URL: the feed's name in the cursor, which must not hold the URL."""
    label: str
    """`feed 2 (www.google.com)`: how logs name it."""


class RssOptions(BaseModel):
    """The `options:` of an `rss` source. Errors never echo a value: a feed URL may be a secret."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)
    feeds: list[str] = Field(default_factory=list)
    feeds_file: Path | None = None
    """More feed URLs, one per line (`#` comments): keeps private feed URLs out of the YAML."""
    feeds_env: str | None = None
    """An environment variable holding more feed URLs, separated by whitespace."""
    poll_seconds: float = Field(default=300.0, gt=0)
    max_entries_per_feed: int | None = Field(default=None, gt=0)
    remember_ids: int = Field(default=2000, gt=0)
    concurrency: int = Field(default=4, gt=0)
    timeout_seconds: float = Field(default=30.0, gt=0)

    def feed_list(self) -> tuple[Feed, ...]:
        urls = list(self.feeds)
        if self.feeds_file is not None:
            try:
                lines = self.feeds_file.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as error:
                raise ValueError(f"rss: feeds_file {self.feeds_file} cannot be read: {error}") from None
            urls += [line for line in lines if not line.lstrip().startswith("#")]
        if self.feeds_env is not None:
            if self.feeds_env not in os.environ:
                raise ValueError(f"rss: environment variable {self.feeds_env} (feeds_env) is not set")
            urls += os.environ[self.feeds_env].split()
        feeds: dict[str, Feed] = {}
        for number, url in enumerate((u.strip() for u in urls if u.strip()), start=1):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"rss: feed {number} is not an http(s) URL")
            feeds.setdefault(url, Feed(url, digest(url, 16), f"feed {number} ({parts.hostname})"))
        if not feeds:
            raise ValueError("rss: no feeds configured (`feeds`, `feeds_file` or `feeds_env`)")
        return tuple(feeds.values())


@dataclass(frozen=True, slots=True)
class FeedState:
    etag: str | None = None
    modified: str | None = None
    seen: dict[str, str] = field(default_factory=dict)
    """Hash of a published entry's id -> hash of its text, oldest first."""

    @classmethod
    def load(cls, raw: Any) -> FeedState:
        raw = raw if isinstance(raw, dict) else {}
        pairs = (str(item).partition(":") for item in raw.get("seen") or [])
        return cls(
            etag=raw.get("etag") if isinstance(raw.get("etag"), str) else None,
            modified=raw.get("modified") if isinstance(raw.get("modified"), str) else None,
            seen={key: text for key, _, text in pairs if key},
        )

    def dump(self) -> dict[str, Any]:
        seen = [f"{key}:{text}" for key, text in self.seen.items()]
        return {"etag": self.etag, "modified": self.modified, "seen": seen}
