"""A real HTTP server on 127.0.0.1 for connector tests: scripted responses, requests recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

Handler = Callable[[web.Request], web.StreamResponse | web.Response]


@dataclass
class LocalServer:
    url: str
    requests: list[web.Request] = field(default_factory=list)


@asynccontextmanager
async def serve(handlers: dict[str, Handler | list[web.Response]]) -> AsyncIterator[LocalServer]:
    """Serve `path -> handler` (or a list of responses given one per request, the last repeated)."""
    app = web.Application()
    server = LocalServer("")

    def route(path: str, handler: Handler | list[web.Response]) -> None:
        async def respond(request: web.Request) -> web.StreamResponse:
            server.requests.append(request)
            if isinstance(handler, list):
                count = sum(1 for r in server.requests if r.path == path)
                scripted = handler[min(count, len(handler)) - 1]
                return web.Response(status=scripted.status, headers=scripted.headers, body=scripted.body)
            return handler(request)

        app.router.add_route("*", path, respond)

    for path, handler in handlers.items():
        route(path, handler)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server.url = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()
