"""HTTP for connectors: retries with exponential backoff and jitter, and the source's rate limits.

429 waits for `Retry-After` (seconds or an HTTP date) when given, else backs off; 5xx and network
errors back off; other 4xx fail at once (retrying a bad token only hammers the source). When a
response says the rate-limit budget is spent (`x-ratelimit-remaining` at or below the policy's
floor), the next request waits for `x-ratelimit-reset` (seconds from now, a Unix time or an ISO
date, as Reddit and Mastodon send them). Logs and errors name only the host: tokens live in
headers and queries, and some feed paths (Google Alerts) are secrets themselves.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from connectors.health import SourceHealth

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 6
    base_seconds: float = 1.0
    max_seconds: float = 300.0
    min_remaining: float = 0.0


class RetriesExhausted(Exception):
    """The source kept failing; the runner backs off and tries the page again later."""


def _seconds_until(value: str, now: float) -> float | None:
    """A delay from `Retry-After` / `x-ratelimit-reset`: seconds, Unix time, HTTP or ISO date."""
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                return None
        return max(0.0, moment.timestamp() - now)
    return max(0.0, number - now if number > 1_000_000_000 else number)


def _host(url: str | httpx.URL) -> str:
    """Only the host goes to logs and errors: paths and queries can be secrets (Google Alerts feeds)."""
    return httpx.URL(str(url)).host


class RetryingClient:
    def __init__(
        self,
        client: httpx.AsyncClient,
        health: SourceHealth,
        policy: RetryPolicy,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._client = client
        self._health = health
        self._policy = policy
        self._sleep = sleep
        self._jitter = jitter
        self._not_before = 0.0

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", url, **kwargs)

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """The response (2xx or 304), after retries; HTTPStatusError for other 4xx."""
        for attempt in range(self._policy.attempts):
            wait = self._not_before - time.time()
            if wait > 0:
                await self._wait(wait)
            try:
                response = await self._client.request(method, url, **kwargs)
            except httpx.TransportError as error:
                self._health.error("network")
                log.warning(
                    "%s: %s %s failed: %s", self._health.name, method, _host(url), type(error).__name__
                )
                await self._wait(self._backoff(attempt))
                continue
            self._note_budget(response)
            status = response.status_code
            if status < 400:
                self._health.success()
                self._health.backing_off(0)
                return response
            if status == 429 or status >= 500:
                self._health.error("rate_limited" if status == 429 else "http_5xx")
                retry_after = response.headers.get("retry-after")
                delay = _seconds_until(retry_after, time.time()) if retry_after else None
                log.warning("%s: %s %s answered %d", self._health.name, method, _host(response.url), status)
                await self._wait(delay if delay is not None else self._backoff(attempt))
                continue
            self._health.error("http_4xx")
            response.raise_for_status()
        raise RetriesExhausted(f"{method} to {_host(url)} failed {self._policy.attempts} times")

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._policy.max_seconds, self._policy.base_seconds * 2.0**attempt)
        return float(ceiling * (0.5 + self._jitter() / 2))

    async def _wait(self, seconds: float) -> None:
        seconds = min(seconds, self._policy.max_seconds)
        self._health.backing_off(seconds)
        await self._sleep(seconds)

    def _note_budget(self, response: httpx.Response) -> None:
        remaining, reset = (
            response.headers.get("x-ratelimit-remaining"),
            response.headers.get("x-ratelimit-reset"),
        )
        if remaining is None or reset is None:
            return
        try:
            spent = float(remaining) <= self._policy.min_remaining
        except ValueError:
            return
        delay = _seconds_until(reset, time.time()) if spent else None
        if delay is not None:
            self._not_before = time.time() + delay
