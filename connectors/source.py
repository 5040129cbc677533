"""What a connector is: a `Source` yields pages of mentions, each with the cursor that follows it.

A source implements one method, `pages(cursor)`, and never talks to Kafka or to disk: the runner
(`connectors.runner`) publishes each page, waits for Kafka's acknowledgement and only then saves
the page's cursor. So a crash between the two re-reads at most one page (the stream drops the
repeated ids) and never skips one. The cursor is a small JSON object each source defines.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

from brandmon.schemas import Deletion, Mention
from connectors.health import SourceHealth
from connectors.http import RetryingClient, RetryPolicy

Cursor = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Page:
    mentions: list[Mention] = field(default_factory=list)
    deletions: list[Deletion] = field(default_factory=list)
    cursor: Cursor | None = None
    """Where to resume after this page; None keeps the previous cursor."""


@dataclass(frozen=True, slots=True)
class SourceContext:
    """What the runner hands a source: its health metrics and an HTTP client that retries."""

    name: str
    health: SourceHealth
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    user_agent: str = "brandmon (+https://github.com/brandmon/brandmon)"

    def http(self, **kwargs: Any) -> RetryingClient:
        headers = {"User-Agent": self.user_agent, **kwargs.pop("headers", {})}
        return RetryingClient(httpx.AsyncClient(headers=headers, **kwargs), self.health, self.retry)


class Source(ABC):
    """One configured source instance (`sources:` entry in the YAML config)."""

    kind: ClassVar[str]

    def __init__(self, options: Mapping[str, Any], context: SourceContext) -> None:
        self.options = dict(options)
        self.context = context

    @property
    def name(self) -> str:
        return self.context.name

    def check(self) -> None:  # noqa: B027 (an optional hook: not every source has options to check)
        """Raise ValueError naming the option and the fix when the options cannot work; called by
        `brandmon check-config` and before the source runs. No I/O beyond reading local files."""

    @abstractmethod
    def pages(self, cursor: Cursor | None) -> AsyncIterator[Page]:
        """Pages from `cursor` on (None: the source's own starting point); endless for live sources."""
