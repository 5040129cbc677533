"""File replay: mentions from a JSONL or CSV file, at their recorded pace or as fast as possible.

JSONL lines are raw-topic values (a mention or a `{"mentions": [...]}` batch). CSV needs the
columns `id,source,text,created_at` and may add `url,author,lang_declared`. The cursor is the
number of lines consumed, so a restarted replay continues after the last acknowledged page.

Options: `path` (required), `pace`: `fast` (default) or `recorded` (sleep between mentions as
their `created_at` says, divided by `speed`), `page_size` (default 500).
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
from pydantic import ValidationError

from brandmon.schemas import Author, Mention, RawBatch
from connectors.source import Cursor, Page, Source


def _json_mentions(line: str) -> list[Mention]:
    """A raw-topic value: one mention or a batch; nothing when the line cannot be read."""
    try:
        document = orjson.loads(line)
        if isinstance(document, dict) and "mentions" in document:
            return list(RawBatch.model_validate(document).mentions)
        return [Mention.model_validate(document)]
    except (orjson.JSONDecodeError, ValidationError, OverflowError):
        return []


def _csv_mentions(lines: Iterator[str], now: datetime) -> Iterator[Mention | None]:
    for row in csv.DictReader(lines):
        try:
            yield Mention(
                id=row["id"],
                source=row["source"],
                text=row["text"],
                url=row.get("url") or None,
                author=Author(handle=row.get("author") or None),
                lang_declared=row.get("lang_declared") or None,
                created_at=row["created_at"],
                fetched_at=now,
            )
        except (KeyError, ValidationError):
            yield None


class ReplaySource(Source):
    kind = "replay"

    def check(self) -> None:
        path = self.options.get("path")
        if not path or not Path(str(path)).is_file():
            raise ValueError(f"replay needs options.path, a readable JSONL or CSV file (got {path!r})")
        if self.options.get("pace", "fast") not in ("fast", "recorded"):
            raise ValueError("replay options.pace must be 'fast' or 'recorded'")
        if int(self.options.get("page_size", 500)) < 1 or float(self.options.get("speed", 1.0)) <= 0:
            raise ValueError("replay options.page_size must be >= 1 and options.speed > 0")

    def _lines(self) -> Iterator[list[Mention]]:
        """The mentions of each line (empty for a line that cannot be read)."""
        path = Path(self.options["path"])
        now = datetime.now(UTC)
        with path.open(encoding="utf-8", newline="") as file:
            if path.suffix.lower() == ".csv":
                for mention in _csv_mentions(file, now):
                    yield [mention] if mention is not None else []
                return
            for line in file:
                yield _json_mentions(line)

    async def pages(self, cursor: Cursor | None) -> AsyncIterator[Page]:
        done = int((cursor or {}).get("line", 0))
        page_size = int(self.options.get("page_size", 500))
        recorded = self.options.get("pace", "fast") == "recorded"
        speed = float(self.options.get("speed", 1.0))
        batch: list[Mention] = []
        previous: datetime | None = None
        line = 0
        for line, mentions in enumerate(self._lines(), start=1):
            if line <= done:
                continue
            if not mentions and line > done:
                self.context.health.error("parse")
            for mention in mentions:
                if recorded and previous is not None and mention.created_at > previous:
                    if batch:
                        yield Page(mentions=batch, cursor={"line": line - 1})
                        batch = []
                    await asyncio.sleep((mention.created_at - previous).total_seconds() / speed)
                previous = mention.created_at
                batch.append(mention)
            if len(batch) >= page_size:
                yield Page(mentions=batch, cursor={"line": line})
                batch = []
        yield Page(mentions=batch, cursor={"line": max(line, done)})
