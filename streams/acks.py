"""Ack a raw message to Faust only once Kafka has everything derived from it.

Faust commits a partition's offset up to the events acked without a gap. The raw-message agent
iterates a stream that does not ack by itself (`stream.noack()`) and hands each message's
publishing task here: events are acked oldest first once their task completed, so a crash never
commits past a message whose scored records Kafka does not hold, while the next message is
derived during the wait. A failed task raises when it is reached and leaves its event, and every
later one, unacked; the agent stops and the offsets stay where they were.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any

MAX_IN_FLIGHT = 1
"""Messages whose publishing may still run while the next one is derived."""


class AckWhenPublished:
    def __init__(self) -> None:
        self._stream: Any = None
        self._waiting: deque[tuple[Any, asyncio.Task[None]]] = deque()
        self._acking = asyncio.Lock()
        self._acking_tasks: set[asyncio.Task[None]] = set()

    def start(self, stream: Any) -> None:
        """A new iteration of the agent (at start, or after its supervisor restarted it)."""
        self._stream = stream
        self._waiting.clear()

    async def add(self, event: Any, published: asyncio.Task[None]) -> None:
        """Track `event`; wait for the oldest ones until at most `MAX_IN_FLIGHT` are in flight.
        Completed ones are acked as soon as they complete, not at the next message: Faust waits
        for every event to be acked before it rebalances or stops."""
        self._waiting.append((event, published))
        published.add_done_callback(self._on_published)
        await self.settle(keep=MAX_IN_FLIGHT)

    def _on_published(self, _: asyncio.Task[None]) -> None:
        task = asyncio.ensure_future(self.ack_completed())
        self._acking_tasks.add(task)
        task.add_done_callback(self._acking_tasks.discard)

    async def settle(self, keep: int = 0) -> None:
        """Ack the events whose publishing completed, oldest first, waiting for all but the newest
        `keep`. Raises the error of a failed one (it and the later ones stay unacked)."""
        async with self._acking:
            while self._waiting and (len(self._waiting) > keep or self._waiting[0][1].done()):
                event, published = self._waiting[0]
                await published
                self._waiting.popleft()
                await self._stream.ack(event)

    async def settle_quietly(self) -> None:
        """`settle` everything as the agent stops; what failed stays unacked (already reported)."""
        with contextlib.suppress(Exception):
            await self.settle()

    async def ack_completed(self) -> None:
        """Ack what completed, oldest first; never waits for a publish, and leaves a failed one
        to the agent, which raises its error."""
        async with self._acking:
            while self._waiting:
                event, published = self._waiting[0]
                if not published.done() or published.cancelled() or published.exception() is not None:
                    return
                self._waiting.popleft()
                await self._stream.ack(event)
