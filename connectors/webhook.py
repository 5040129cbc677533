"""Webhook ingest: partners and internal tools push mentions to us over HTTP instead of being polled.

The source runs an aiohttp server inside `pages()`. A POST body is a raw-topic value (one Mention,
or `{"mentions": [...], "deletions": [...]}`), validated whole with the contract models: one bad
mention rejects the request (400 naming the field), so the caller fixes it and resends the lot
instead of guessing which half got in. The answer is 202 only after Kafka acknowledged: the handler
queues (page, future), `pages()` yields the queued pages as one, and resolves their futures when the
runner asks for the next page, which it does only after `sink.send` returned and the cursor was
saved. When the sink fails the runner closes the generator, whose `finally` answers 503 to every
waiting or queued request; the caller resends, and the stream's dedup by id drops whatever got
through twice. So: 2xx = stored; 503 = resend; 503 on shutdown may also follow a stored page.

Options: `port` (required; 0 picks a free one, for tests: see `url`/`ready`), `host` (127.0.0.1:
loopback unless you choose otherwise), `path` (`/ingest`), `max_bytes` (MAX_MESSAGE_BYTES),
`max_pending` (64 queued requests, then 503 with Retry-After), and authentication, at least one of:
`secret_env`/`secret_file` (HMAC signatures, `connectors.webhook_auth`) or `token_env`/`token_file`
(bearer token). No cursor: a pushed request is not ours to re-read. While idle the source yields an
empty page every second, as the runner notices its `stop` event only between pages.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from brandmon.schemas import MAX_MESSAGE_BYTES
from connectors.source import Cursor, Page, Source, SourceContext
from connectors.webhook_auth import Authenticator, AuthError, load_secret
from connectors.webhook_body import BodyError, parse_body, read_at_most

log = logging.getLogger(__name__)
AUTH_OPTIONS = ("secret_env", "secret_file", "token_env", "token_file")
OPTIONS = frozenset(("host", "port", "path", "max_bytes", "max_pending", *AUTH_OPTIONS))
IDLE_SECONDS = 1.0
"""An idle source yields an empty page this often: the runner checks `stop` only between pages."""


def _error(status: int, reason: str, **headers: str) -> web.Response:
    return web.json_response({"error": reason}, status=status, headers=headers)


def _int_option(options: Mapping[str, Any], key: str, default: int | None, low: int, high: int) -> int:
    value = options.get(key, default)
    if value is None:
        raise ValueError(f"option {key} is required ({low}..{high})")
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"option {key} must be a whole number from {low} to {high}, not {value!r}")
    return value


@dataclass
class _Pending:
    page: Page
    answer: asyncio.Future[int] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    def settle(self, status: int) -> None:
        if not self.answer.done():
            self.answer.set_result(status)


class WebhookSource(Source):
    kind = "webhook"

    def __init__(self, options: Mapping[str, Any], context: SourceContext) -> None:
        super().__init__(options, context)
        try:
            if unknown := sorted(set(self.options) - OPTIONS):
                raise ValueError(
                    f"unknown options {', '.join(unknown)} (known: {', '.join(sorted(OPTIONS))})"
                )
            self.port = _int_option(self.options, "port", None, 0, 65535)
            self.max_bytes = _int_option(self.options, "max_bytes", MAX_MESSAGE_BYTES, 1024, 16 * 2**20)
            self.max_pending = _int_option(self.options, "max_pending", 64, 1, 10_000)
        except ValueError as error:
            raise ValueError(f"webhook source {self.name!r}: {error}") from None
        self.host = str(self.options.get("host", "127.0.0.1"))
        self.path = str(self.options.get("path", "/ingest"))
        if not self.path.startswith("/"):
            raise ValueError(f"webhook source {self.name!r}: path must start with '/', not {self.path!r}")
        token = load_secret(self.options, "token_env", "token_file", self.name)
        secret = load_secret(self.options, "secret_env", "secret_file", self.name)
        if token is None and secret is None:
            raise ValueError(
                f"webhook source {self.name!r} needs authentication: set secret_env or secret_file "
                "(HMAC-signed requests) or token_env or token_file (bearer token)"
            )
        self._auth = Authenticator(token=token, secret=secret)
        self._queue: asyncio.Queue[_Pending] | None = None
        self.ready = asyncio.Event()
        """Set while the server listens; `url` is then the full ingest URL (with the bound port)."""
        self.url: str | None = None

    async def pages(self, cursor: Cursor | None) -> AsyncIterator[Page]:
        queue: asyncio.Queue[_Pending] = asyncio.Queue(self.max_pending)
        runner = await self._serve()
        self._queue = queue
        taken: list[_Pending] = []
        try:
            while True:
                try:
                    async with asyncio.timeout(IDLE_SECONDS):
                        taken = [await queue.get()]
                except TimeoutError:
                    yield Page()  # nothing to send: lets the runner see its `stop` event
                    continue
                while not queue.empty():
                    taken.append(queue.get_nowait())
                mentions = [m for p in taken for m in p.page.mentions]
                yield Page(mentions, [d for p in taken for d in p.page.deletions])
                for pending in taken:  # the runner is back: the page is stored and its cursor saved
                    pending.settle(202)
                self.context.health.success()
                taken = []
        finally:  # the sink failed, or the runner stops: nothing pending was acknowledged
            self._queue = None
            self.ready.clear()
            while not queue.empty():
                taken.append(queue.get_nowait())
            for pending in taken:
                pending.settle(503)
            await runner.cleanup()

    async def _serve(self) -> web.AppRunner:
        app = web.Application(client_max_size=self.max_bytes + 1)
        app.router.add_route("*", self.path, self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError as error:
            await runner.cleanup()
            raise OSError(
                f"webhook source {self.name!r} cannot listen on {self.host}:{self.port}: {error}"
            ) from None
        port = next(iter(runner.addresses))[1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{host}:{port}{self.path}"
        self.ready.set()
        log.info("webhook source %s listening on %s", self.name, self.url)
        return runner

    async def _handle(self, request: web.Request) -> web.Response:
        if request.method != "POST":
            return _error(405, "use POST", Allow="POST")
        if request.headers.get("Content-Encoding", "identity").lower() != "identity":
            return self._refuse(415, "Content-Encoding is not supported: send the JSON as it was signed")
        if request.content_length is not None and request.content_length > self.max_bytes:
            return self._refuse(413, f"body is larger than {self.max_bytes} bytes")
        try:
            body = await read_at_most(request.content, self.max_bytes)
        except (ConnectionError, HttpProcessingError):  # hung up before its Content-Length, bad chunks
            return self._refuse(400, "the body could not be read to its end")
        if body is None:
            return self._refuse(413, f"body is larger than {self.max_bytes} bytes")
        try:
            reserved = self._auth.check(request.headers, body)
        except AuthError as error:
            return self._refuse(error.status, error.reason)
        try:
            response = await self._accept(request, body)
        except BaseException:  # cancelled while waiting: maybe not stored, so a resend must pass
            if reserved is not None:
                self._auth.release(reserved)
            raise
        if reserved is not None and response.status >= 300:
            self._auth.release(reserved)  # not stored: the caller may resend the same signed request
        return response

    async def _accept(self, request: web.Request, body: bytes) -> web.Response:
        if request.content_type != "application/json" or (request.charset or "utf-8").lower() != "utf-8":
            return self._refuse(415, "Content-Type must be application/json (UTF-8)")
        try:
            mentions, deletions = parse_body(body)
        except BodyError as error:
            if error.status == 400:
                self.context.health.error("parse")
            return _error(error.status, str(error))
        queue = self._queue
        if queue is None:
            return _error(503, "shutting down; retry later", **{"Retry-After": "5"})
        pending = _Pending(Page(mentions, deletions))
        try:
            queue.put_nowait(pending)
        except asyncio.QueueFull:
            return _error(503, "too many requests waiting for Kafka; retry shortly", **{"Retry-After": "1"})
        if await pending.answer != 202:
            return _error(503, "not stored: Kafka did not acknowledge; resend the request")
        return web.json_response(
            {"accepted": {"mentions": len(mentions), "deletions": len(deletions)}}, status=202
        )

    def _refuse(self, status: int, reason: str) -> web.Response:
        self.context.health.error("http_4xx")
        return _error(status, reason)
