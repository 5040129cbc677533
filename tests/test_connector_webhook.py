"""Webhook ingest over real HTTP: 202 only once the sink stored the request, 503 when it could not,
and every kind of refusal (auth, replay, size, type, method, content) with nothing stored."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import pytest
from prometheus_client import CollectorRegistry

from brandmon.schemas import RAW_TOPIC, Mention
from brandmon.settings import Settings
from connectors.health import SourceMetrics
from connectors.publisher import MentionPublisher
from connectors.runner import KafkaSink, run_source
from connectors.source import Page, SourceContext
from connectors.webhook import WebhookSource
from connectors.webhook_auth import Authenticator, AuthError, signature
from connectors.webhook_body import read_at_most
from tests.kafka_helpers import mention, read_topic

SECRET = "test-secret-0123456789abcdef"
TOKEN = "test-token-fedcba9876543210"
JSON = {"Content-Type": "application/json"}


class RecordingSink:
    """Keeps what it was sent; `gate` holds each send until set, `fail` refuses like a broker outage."""

    def __init__(self, *, gate: asyncio.Event | None = None, fail: bool = False) -> None:
        self.pages: list[Page] = []
        self.sending = asyncio.Event()
        self.gate = gate
        self.fail = fail

    async def send(self, page: Page) -> None:
        self.sending.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise ConnectionError("broker unavailable")
        self.pages.append(page)

    @property
    def ids(self) -> list[str]:
        return [m.id for page in self.pages for m in page.mentions]


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("TEST_WEBHOOK_TOKEN", TOKEN)


BOTH = {"secret_env": "TEST_WEBHOOK_SECRET", "token_env": "TEST_WEBHOOK_TOKEN"}


def webhook(
    registry: CollectorRegistry | None = None, auth: dict[str, str] = BOTH, **options: Any
) -> WebhookSource:
    options = {"port": 0, **auth, **options}
    health = SourceMetrics(registry or CollectorRegistry()).for_source("hooks")
    return WebhookSource(options, SourceContext(name="hooks", health=health))


@contextlib.asynccontextmanager
async def running(source: WebhookSource, sink: Any) -> AsyncIterator[asyncio.Task[int]]:
    task = asyncio.create_task(run_source(source, sink, None))
    await asyncio.wait_for(source.ready.wait(), 5)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await task


def batch(*mentions: Mention) -> bytes:
    return orjson.dumps({"mentions": [m.model_dump(mode="json") for m in mentions]})


def signed(body: bytes, *, at: float | None = None, secret: str = SECRET) -> dict[str, str]:
    timestamp = str(int(time.time() if at is None else at))
    return JSON | {
        "X-Brandmon-Timestamp": timestamp,
        "X-Brandmon-Signature": signature(secret.encode(), timestamp, body),
    }


async def post(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(url, content=body, headers=headers)


def errors(registry: CollectorRegistry, kind: str) -> float | None:
    return registry.get_sample_value("brandmon_source_errors_total", {"source": "hooks", "kind": kind})


async def test_202_comes_only_after_the_sink_stored_the_batch() -> None:
    registry, gate = CollectorRegistry(), asyncio.Event()
    source, sink = webhook(registry), RecordingSink(gate=gate)
    body = batch(*(mention(n, f"acme post {n}") for n in range(30)))
    async with running(source, sink):
        assert source.url is not None
        assert source.url.startswith("http://127.0.0.1:")
        request = asyncio.create_task(post(source.url, body, signed(body)))
        await asyncio.wait_for(sink.sending.wait(), 5)
        await asyncio.sleep(0.2)
        assert not request.done(), "answered before Kafka acknowledged"
        gate.set()
        response = await request
    assert response.status_code == 202
    assert response.json() == {"accepted": {"mentions": 30, "deletions": 0}}
    assert sink.ids == [f"mastodon:{n}" for n in range(30)]
    assert registry.get_sample_value("brandmon_source_items_total", {"source": "hooks"}) == 30


async def test_bearer_token_from_a_file_takes_a_single_mention_and_deletions(tmp_path: Path) -> None:
    (tmp_path / "token").write_text(TOKEN + "\n")
    source, sink = webhook(auth={"token_file": str(tmp_path / "token")}), RecordingSink()
    auth = JSON | {"Authorization": f"Bearer {TOKEN}"}
    single = orjson.dumps(mention(7, "acme single").model_dump(mode="json"))
    deletion = orjson.dumps({"deletions": [{"id": "mastodon:7", "deleted_at": "2025-01-01T00:00:00Z"}]})
    async with running(source, sink):
        assert source.url is not None
        assert (await post(source.url, single, auth)).status_code == 202
        assert (await post(source.url, deletion, auth)).status_code == 202
    assert sink.ids == ["mastodon:7"]
    assert [d.id for page in sink.pages for d in page.deletions] == ["mastodon:7"]


def _unsigned(body: bytes) -> dict[str, str]:
    return JSON


def _wrong_token(body: bytes) -> dict[str, str]:
    return JSON | {"Authorization": "Bearer not-the-token"}


def _wrong_secret(body: bytes) -> dict[str, str]:
    return signed(body, secret="another-secret-0123456789")


def _signed_for_other_body(body: bytes) -> dict[str, str]:
    return signed(body + b" ")


def _stale(body: bytes) -> dict[str, str]:
    return signed(body, at=time.time() - 310)


def _future(body: bytes) -> dict[str, str]:
    return signed(body, at=time.time() + 310)


def _gzip(body: bytes) -> dict[str, str]:
    return signed(body) | {"Content-Encoding": "gzip"}


def _text_plain(body: bytes) -> dict[str, str]:
    return signed(body) | {"Content-Type": "text/plain"}


GOOD = batch(mention(1, "acme one"), mention(2, "acme two"))
BAD_SECOND = orjson.dumps(
    {
        "mentions": [
            mention(1, "acme").model_dump(mode="json"),
            {**mention(2, "x").model_dump(mode="json"), "id": "no id"},
        ]
    }
)
REFUSALS: list[tuple[str, bytes, Callable[[bytes], dict[str, str]], int, str]] = [
    ("no credentials", GOOD, _unsigned, 401, "missing credentials"),
    ("wrong token", GOOD, _wrong_token, 401, "wrong bearer token"),
    ("wrong secret", GOOD, _wrong_secret, 401, "wrong signature"),
    ("body changed after signing", GOOD, _signed_for_other_body, 401, "wrong signature"),
    ("stale timestamp", GOOD, _stale, 401, "timestamp"),
    ("timestamp from the future", GOOD, _future, 401, "timestamp"),
    ("wrong content type", GOOD, _text_plain, 415, "application/json"),
    ("compressed body", gzip.compress(GOOD), _gzip, 415, "Content-Encoding"),
    ("invalid JSON", b'{"mentions": [', signed, 400, "invalid JSON"),
    ("not an object", b"[1, 2]", signed, 400, "JSON object"),
    ("one invalid mention", BAD_SECOND, signed, 400, "mentions[1].id"),
    ("empty batch", b'{"mentions": []}', signed, 400, "at least one mention"),
    ("missing field", b'{"id": "x:1"}', signed, 400, "source: Field required"),
]


@pytest.mark.parametrize(
    ("case", "body", "headers", "status", "reason"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
async def test_refused_requests_say_why_and_store_nothing(
    case: str,
    body: bytes,
    headers: Callable[[bytes], dict[str, str]],
    status: int,
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    registry, sink = CollectorRegistry(), RecordingSink()
    source = webhook(registry)
    async with running(source, sink):
        assert source.url is not None
        response = await post(source.url, body, headers(body))
    assert response.status_code == status
    assert reason in response.json()["error"]
    assert sink.pages == []
    assert errors(registry, "parse" if status == 400 else "http_4xx") == 1
    for secret in (SECRET, TOKEN):
        assert secret not in response.text
        assert secret not in caplog.text


async def test_wrong_method_is_405_and_other_paths_404() -> None:
    source = webhook()
    async with running(source, RecordingSink()), httpx.AsyncClient() as client:
        assert source.url is not None
        response = await client.get(source.url)
        assert response.status_code == 405
        assert response.headers["Allow"] == "POST"
        assert (await client.post(source.url.replace("/ingest", "/other"), content=GOOD)).status_code == 404


async def test_an_exact_replay_is_409_and_a_new_signature_is_accepted() -> None:
    source, sink, now = webhook(), RecordingSink(), time.time()
    headers = signed(GOOD, at=now)
    async with running(source, sink):
        assert source.url is not None
        assert (await post(source.url, GOOD, headers)).status_code == 202
        replay = await post(
            source.url, GOOD, headers | {"X-Brandmon-Signature": headers["X-Brandmon-Signature"].upper()}
        )
        assert replay.status_code == 409
        assert "replayed" in replay.json()["error"]
        assert (await post(source.url, GOOD, signed(GOOD, at=now - 10))).status_code == 202
    assert len(sink.pages) == 2


async def test_oversized_bodies_are_413_by_header_and_by_what_is_read() -> None:
    source, sink = webhook(max_bytes=1024), RecordingSink()
    big = b'{"mentions": [' + b" " * 2000 + b"]}"

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b" " * 512

    async with running(source, sink), httpx.AsyncClient() as client:
        assert source.url is not None
        assert (await post(source.url, big, signed(big))).status_code == 413
        streamed = await client.post(source.url, content=chunks(), headers=JSON)  # no Content-Length
        assert streamed.status_code == 413
    assert sink.pages == []


async def test_a_mention_too_large_for_one_raw_message_is_413() -> None:
    source, sink = webhook(max_bytes=1024 * 1024), RecordingSink()
    body = batch(mention(1, "acme"), mention(2, "acme " + "ø" * 150_000))
    async with running(source, sink):
        assert source.url is not None
        response = await post(source.url, body, signed(body))
    assert response.status_code == 413
    assert "mentions[1]" in response.json()["error"]
    assert sink.pages == []


async def test_reading_stops_one_byte_after_the_limit() -> None:
    class Endless:
        def __init__(self) -> None:
            self.read_bytes = 0

        async def read(self, n: int) -> bytes:
            self.read_bytes += n
            return b"x" * n

    stream = Endless()
    assert await read_at_most(stream, 100) is None  # type: ignore[arg-type]
    assert stream.read_bytes == 101


async def test_a_sink_failure_answers_503_and_the_same_request_can_be_resent() -> None:
    gate = asyncio.Event()
    source, failing = webhook(), RecordingSink(gate=gate, fail=True)
    first, second = batch(mention(1, "acme")), batch(mention(2, "acme"))
    task = asyncio.create_task(run_source(source, failing, None))
    await asyncio.wait_for(source.ready.wait(), 5)
    assert source.url is not None
    sent = asyncio.create_task(post(source.url, first, signed(first)))
    await asyncio.wait_for(failing.sending.wait(), 5)
    queued = asyncio.create_task(post(source.url, second, signed(second)))
    await asyncio.sleep(0.2)
    gate.set()
    with pytest.raises(ConnectionError):
        await task
    responses = [await sent, await queued]
    assert [r.status_code for r in responses] == [503, 503]
    assert "resend" in responses[0].json()["error"]
    assert failing.pages == []

    sink = RecordingSink()
    async with running(source, sink):  # the runner restarts the source; the caller resends unchanged
        assert source.url is not None
        assert (await post(source.url, first, signed(first))).status_code == 202
    assert sink.ids == ["mastodon:1"]


async def test_a_full_queue_answers_503_with_retry_after() -> None:
    gate = asyncio.Event()
    source, sink = webhook(max_pending=1), RecordingSink(gate=gate)
    bodies = [batch(mention(n, "acme")) for n in range(3)]
    async with running(source, sink):
        assert source.url is not None
        first = asyncio.create_task(post(source.url, bodies[0], signed(bodies[0])))
        await asyncio.wait_for(sink.sending.wait(), 5)
        waiting = asyncio.create_task(post(source.url, bodies[1], signed(bodies[1])))
        await asyncio.sleep(0.2)
        refused = await post(source.url, bodies[2], signed(bodies[2]))
        gate.set()
        assert [(await first).status_code, (await waiting).status_code] == [202, 202]
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "1"
    assert sink.ids == ["mastodon:0", "mastodon:1"]


async def test_concurrent_requests_are_all_stored_and_acknowledged() -> None:
    source, sink = webhook(), RecordingSink()
    bodies = [batch(*(mention(n * 10 + i, "acme") for i in range(10))) for n in range(20)]
    async with running(source, sink):
        assert source.url is not None
        responses = await asyncio.gather(*(post(source.url, b, signed(b)) for b in bodies))
    assert {r.status_code for r in responses} == {202}
    assert sorted(sink.ids) == sorted(f"mastodon:{n}" for n in range(200))


async def test_stop_ends_an_idle_source_and_closes_the_port() -> None:
    source, stop = webhook(), asyncio.Event()
    task = asyncio.create_task(run_source(source, RecordingSink(), None, stop))
    await asyncio.wait_for(source.ready.wait(), 5)
    url = source.url
    assert url is not None
    stop.set()
    assert await asyncio.wait_for(task, 5) == 0
    assert not source.ready.is_set()
    with pytest.raises(httpx.ConnectError):
        await post(url, GOOD, signed(GOOD))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"port": 0}, "needs authentication: set secret_env or secret_file"),
        ({"port": 0, "secret_env": "TEST_WEBHOOK_UNSET"}, "TEST_WEBHOOK_UNSET (secret_env) is unset"),
        ({"port": 0, "token_file": "/nonexistent/token"}, "cannot read token_file"),
        ({"port": 0, "token_env": "TEST_WEBHOOK_SHORT"}, "at least 16 characters"),
        ({"port": 0, "secret_env": "A", "secret_file": "b"}, "not both"),
        ({"secret_env": "TEST_WEBHOOK_SECRET"}, "option port is required"),
        ({"port": 0, "secret_env": "TEST_WEBHOOK_SECRET", "max_byte": 5}, "unknown options max_byte"),
        ({"port": 0, "secret_env": "TEST_WEBHOOK_SECRET", "path": "ingest"}, "path must start with '/'"),
    ],
)
def test_bad_configuration_refuses_to_start(
    options: dict[str, Any], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_WEBHOOK_SHORT", "short-token")
    with pytest.raises(ValueError, match="webhook source 'hooks'") as refused:
        WebhookSource(
            options,
            SourceContext(name="hooks", health=SourceMetrics(CollectorRegistry()).for_source("hooks")),
        )
    assert message in str(refused.value)
    assert "short-token" not in str(refused.value)


def test_signatures_are_remembered_for_the_window_and_released_when_not_stored() -> None:
    now = [1_700_000_000.0]
    auth = Authenticator(token=None, secret=SECRET.encode(), clock=lambda: now[0])
    headers = signed(GOOD, at=now[0])
    reserved = auth.check(headers, GOOD)
    with pytest.raises(AuthError) as replay:
        auth.check(headers, GOOD)
    assert replay.value.status == 409
    assert reserved is not None
    auth.release(reserved)
    assert auth.check(headers, GOOD) == reserved
    now[0] += 301
    with pytest.raises(AuthError, match="timestamp") as stale:
        auth.check(headers, GOOD)
    assert stale.value.status == 401


@pytest.mark.broker
async def test_what_got_202_is_on_the_raw_topic(settings: Settings) -> None:
    mentions = [mention(n, f"acme on kafka {n}") for n in range(25)]
    bodies = [
        batch(*mentions[:20]),
        orjson.dumps(mentions[20].model_dump(mode="json")),
        batch(*mentions[21:]),
    ]
    source = webhook()
    publisher = MentionPublisher(settings, settings.kafka_bootstrap or "")
    async with publisher, running(source, KafkaSink(publisher)):
        assert source.url is not None
        responses = [await post(source.url, body, signed(body)) for body in bodies]
        refused = await post(source.url, BAD_SECOND, signed(BAD_SECOND))
    assert [r.status_code for r in responses] == [202, 202, 202]
    assert refused.status_code == 400
    expected = {m.id for m in mentions}

    def ids(records: list[tuple[bytes | None, bytes]]) -> set[str]:
        return {m["id"] for _, value in records for m in orjson.loads(value)["mentions"]}

    records = await read_topic(settings, RAW_TOPIC, lambda r: ids(r) >= expected, give_up_after=30)
    assert ids(records) == expected


async def raw_exchange(url: str, head: dict[str, str], body: bytes, *, half_close: bool = False) -> bytes:
    """One request written byte for byte (headers may lie), and what the server answered until it
    closed the connection or went quiet for a second; `half_close` ends our side after the body."""
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    lines = [f"POST {parts.path} HTTP/1.1", f"Host: {parts.netloc}", *(f"{k}: {v}" for k, v in head.items())]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
    await writer.drain()
    if half_close:
        writer.write_eof()
    answer = b""
    with contextlib.suppress(TimeoutError, ConnectionError):
        while chunk := await asyncio.wait_for(reader.read(65536), 1.0):
            answer += chunk
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
    return answer


def statuses(answer: bytes) -> list[int]:
    return [int(code) for code in re.findall(rb"HTTP/1\.[01] (\d{3}) ", answer)]


async def test_lying_content_lengths_never_reach_the_sink(caplog: pytest.LogCaptureFixture) -> None:
    """A Content-Length smaller than the body (the rest is read as a second, malformed request), one
    over the limit with a small body (refused unread), one larger than what is sent before the
    caller hangs up (refused, not an error in our handler), and broken chunking: nothing is stored,
    and the server goes on serving."""
    source, sink = webhook(max_bytes=1024), RecordingSink()
    big = batch(*(mention(n, "acme " * 20) for n in range(10)))
    assert len(big) > 1024
    small = batch(mention(1, "acme"))
    chunked = signed(small) | {"Transfer-Encoding": "chunked"}
    async with running(source, sink):
        assert source.url is not None
        short = await raw_exchange(source.url, signed(big) | {"Content-Length": "300"}, big)
        assert statuses(short)
        assert all(status >= 400 for status in statuses(short))
        claimed = await raw_exchange(source.url, signed(small) | {"Content-Length": str(10**9)}, small)
        assert statuses(claimed) == [413]
        caplog.clear()
        await raw_exchange(
            source.url, signed(small) | {"Content-Length": str(len(small) + 100)}, small, half_close=True
        )
        assert "Error handling request" not in caplog.text
        await raw_exchange(source.url, chunked, f"{len(small) + 50:x}\r\n".encode() + small, half_close=True)
        await raw_exchange(source.url, chunked, b"zz\r\n" + small)
        await raw_exchange(
            source.url, chunked | {"Content-Length": "5"}, b"5\r\n" + small[:5] + b"\r\n0\r\n\r\n"
        )
        assert sink.pages == []
        assert (await post(source.url, small, signed(small))).status_code == 202
    assert sink.ids == ["mastodon:1"]


async def test_a_signed_chunked_body_over_the_limit_is_413_and_not_stored() -> None:
    source, sink = webhook(max_bytes=1024), RecordingSink()
    body = batch(*(mention(n, "acme " * 20) for n in range(10)))

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 100):
            yield body[start : start + 100]

    async with running(source, sink), httpx.AsyncClient(timeout=10) as client:
        assert source.url is not None
        response = await client.post(source.url, content=chunks(), headers=signed(body))
        assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert response.status_code == 413
    assert sink.pages == []


async def test_a_replay_sent_while_the_original_waits_for_kafka_is_409() -> None:
    """The signature is reserved when the request is authenticated, not when Kafka acknowledged:
    two copies in flight cannot both be stored."""
    gate = asyncio.Event()
    source, sink = webhook(), RecordingSink(gate=gate)
    headers = signed(GOOD)
    async with running(source, sink):
        assert source.url is not None
        first = asyncio.create_task(post(source.url, GOOD, headers))
        await asyncio.wait_for(sink.sending.wait(), 5)
        copy = await post(source.url, GOOD, headers)
        gate.set()
        assert (await first).status_code == 202
    assert copy.status_code == 409
    assert len(sink.pages) == 1


async def test_a_signature_moved_to_another_timestamp_is_401() -> None:
    """The timestamp is signed: a captured request cannot be freshened to pass the window."""
    source, sink = webhook(), RecordingSink()
    old = signed(GOOD, at=time.time() - 400)
    moved = old | {"X-Brandmon-Timestamp": str(int(time.time()))}
    async with running(source, sink):
        assert source.url is not None
        for headers in (moved, old | {"X-Brandmon-Timestamp": "+" + old["X-Brandmon-Timestamp"]}):
            response = await post(source.url, GOOD, headers)
            assert response.status_code == 401
    assert sink.pages == []
