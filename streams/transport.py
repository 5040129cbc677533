"""Faust's aiokafka transport with two fixes (never skip what was fetched around a rebalance)
and a shorter fetch wait.

Measured as lost mentions in the kill -9 test (about one run in four), from two races:

1. After restoring tables, Faust resumes the stream partitions *before* it seeks them to the
   committed offsets, with the flow still active from the restore. The fetcher reads and queues
   messages meanwhile; Faust then clears the queues on resume, and the fetcher's read offset,
   set by those messages after the seek, makes it drop the re-read ones below it. `perform_seek`
   here stops the flow first; every Faust caller resumes it right after the seek.
2. aiokafka's `seek_to_committed` does nothing for a partition whose group has no committed
   offset yet (nor for a committed 0), so a partition whose first fetch was abandoned stayed
   past it. Such partitions go back to their earliest offset, as `auto_offset_reset=earliest`
   promises.

Replays are harmless: window updates skip offsets they already applied.

Faust fixes the consumer's `fetch_max_wait_ms` at 1,500 ms. A broker that holds a fetch for that
long when nothing is waiting (the embedded one does) delays a mention arriving on a quiet
partition by up to 1.5 s before it is even read; `FETCH_WAIT_MS` bounds that wait instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, ClassVar

import aiokafka
from faust.transport.drivers import aiokafka as faust_aiokafka

FETCH_WAIT_MS = 100


class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = FETCH_WAIT_MS  # read when it starts its fetcher; no setting
        return consumer


class Consumer(faust_aiokafka.Consumer):
    stream_topics: ClassVar[frozenset[str]] = frozenset()

    def _new_consumer_thread(self) -> ConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def perform_seek(self) -> None:
        if self.flow_active:
            self.stop_flow()
            await self.wait_for_stopped_flow()
            await asyncio.sleep(0)  # let the fetch loop see the stop before read offsets are reset
        await super().perform_seek()

    async def seek_to_committed(self) -> Mapping[Any, int]:
        committed: Mapping[Any, int] = await super().seek_to_committed()
        uncommitted = [
            tp for tp, offset in committed.items() if tp.topic in self.stream_topics and not offset
        ]
        if uncommitted:
            await self._thread.seek_to_beginning(*uncommitted)
        return committed


def transport_for(stream_topics: frozenset[str]) -> type[Any]:
    """A Faust Transport class whose consumer rewinds `stream_topics` as described above."""
    consumer = type("BrandmonConsumer", (Consumer,), {"stream_topics": stream_topics})
    return type("BrandmonTransport", (faust_aiokafka.Transport,), {"Consumer": consumer})
