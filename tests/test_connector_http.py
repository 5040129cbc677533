"""Connector HTTP against a real local server: backoff, Retry-After, rate-limit budgets, no retries on 4xx."""

from __future__ import annotations

import httpx
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from connectors.health import SourceMetrics
from connectors.http import RetriesExhausted, RetryingClient, RetryPolicy
from tests.local_http import serve


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def client(registry: CollectorRegistry, sleeps: Sleeps, **policy: float) -> RetryingClient:
    health = SourceMetrics(registry).for_source("feed")
    return RetryingClient(
        httpx.AsyncClient(), health, RetryPolicy(**policy), sleep=sleeps, jitter=lambda: 1.0
    )  # type: ignore[arg-type]


async def test_429_waits_for_retry_after_then_succeeds() -> None:
    registry, sleeps = CollectorRegistry(), Sleeps()
    responses = [web.Response(status=429, headers={"Retry-After": "7"}), web.Response(text="ok")]
    async with serve({"/feed": responses}) as server:
        http = client(registry, sleeps)
        response = await http.get(server.url + "/feed?token=secret")
        await http.aclose()
    assert response.text == "ok"
    assert sleeps.waits == [7.0]
    assert (
        registry.get_sample_value("brandmon_source_errors_total", {"source": "feed", "kind": "rate_limited"})
        == 1
    )
    assert registry.get_sample_value("brandmon_source_last_success_timestamp_seconds", {"source": "feed"})


async def test_429_without_retry_after_and_5xx_back_off_exponentially() -> None:
    registry, sleeps = CollectorRegistry(), Sleeps()
    responses = [
        web.Response(status=429),
        web.Response(status=503),
        web.Response(status=502),
        web.Response(text="ok"),
    ]
    async with serve({"/feed": responses}) as server:
        http = client(registry, sleeps, base_seconds=2.0)
        assert (await http.get(server.url + "/feed")).text == "ok"
        await http.aclose()
    assert sleeps.waits == [2.0, 4.0, 8.0]
    assert (
        registry.get_sample_value("brandmon_source_errors_total", {"source": "feed", "kind": "http_5xx"}) == 2
    )
    assert registry.get_sample_value("brandmon_source_backoff_seconds", {"source": "feed"}) == 0


async def test_a_bad_token_is_not_retried() -> None:
    registry, sleeps = CollectorRegistry(), Sleeps()
    async with serve({"/feed": [web.Response(status=401)]}) as server:
        http = client(registry, sleeps)
        with pytest.raises(httpx.HTTPStatusError):
            await http.get(server.url + "/feed")
        await http.aclose()
        assert len(server.requests) == 1
    assert sleeps.waits == []


async def test_gives_up_after_the_policy_attempts() -> None:
    registry, sleeps = CollectorRegistry(), Sleeps()
    async with serve({"/feed": [web.Response(status=500)]}) as server:
        http = client(registry, sleeps, attempts=3)
        with pytest.raises(RetriesExhausted) as raised:
            await http.get(server.url + "/feed?access_token=secret")
        await http.aclose()
    assert "secret" not in str(raised.value)
    assert len(sleeps.waits) == 3


async def test_a_spent_rate_limit_budget_delays_the_next_request() -> None:
    registry, sleeps = CollectorRegistry(), Sleeps()
    spent = web.Response(text="a", headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": "42"})
    async with serve({"/feed": [spent, web.Response(text="b")]}) as server:
        http = client(registry, sleeps)
        await http.get(server.url + "/feed")
        assert sleeps.waits == []
        await http.get(server.url + "/feed")
        await http.aclose()
    assert len(sleeps.waits) == 1
    assert 40 <= sleeps.waits[0] <= 42
