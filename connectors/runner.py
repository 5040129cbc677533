"""Runs a source: publish each page, wait for Kafka's acknowledgement, then save its cursor.

The one place that orders "published" before "checkpointed" for every connector. A failing
source is retried from its last saved cursor with growing pauses; it never stops the process.
When Kafka is away the runner holds the page it has (the source reads no further) and keeps
asking the sink to deliver it, with growing pauses, counting `publish` errors and showing the
pause in `brandmon_source_backoff_seconds`; the cursor moves only once Kafka has the page.
`DryRunSink` prints what would be published (`brandmon connect NAME --dry-run`), saving nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import sys
from typing import BinaryIO, Protocol, runtime_checkable

import orjson

from connectors.checkpoint import CheckpointStore
from connectors.health import SourceHealth
from connectors.publisher import MentionPublisher, encode_mention
from connectors.source import Page, Source

log = logging.getLogger(__name__)
RESTART_PAUSE_SECONDS = (5.0, 30.0, 120.0, 600.0)
ACK_TIMEOUT_SECONDS = 5.0
"""A page Kafka has not acknowledged within this time counts as a `publish` error (and is retried)."""
REDELIVER_PAUSE_SECONDS = (0.5, 1.0, 2.0, 5.0, 10.0)
"""Pauses between attempts to deliver a page (the producer itself keeps retrying meanwhile)."""


class Sink(Protocol):
    async def send(self, page: Page) -> None:
        """Return only once the page's mentions and deletions are safely stored."""


@runtime_checkable
class ResumableSink(Sink, Protocol):
    async def resume(self) -> None:
        """Finish delivering what the last failed `send` left unacknowledged, sending nothing twice."""


class KafkaSink:
    def __init__(self, publisher: MentionPublisher) -> None:
        self._publisher = publisher

    async def send(self, page: Page) -> None:
        await self._publisher.publish(page.mentions)
        await self._publisher.delete(page.deletions)
        await self.resume()

    async def resume(self) -> None:
        async with asyncio.timeout(ACK_TIMEOUT_SECONDS):
            await self._publisher.flush()


class DryRunSink:
    """JSON lines on stdout: mentions as on the raw topic, deletions as `{"deleted": ...}`."""

    def __init__(self, out: BinaryIO | None = None) -> None:
        self._out = out or sys.stdout.buffer
        self.mentions = 0

    async def send(self, page: Page) -> None:
        for mention in page.mentions:
            self._out.write(encode_mention(mention) + b"\n")
        for deletion in page.deletions:
            self._out.write(orjson.dumps({"deleted": deletion.model_dump(mode="json")}) + b"\n")
        self._out.flush()
        self.mentions += len(page.mentions)


async def run_source(
    source: Source,
    sink: Sink,
    store: CheckpointStore | None,
    stop: asyncio.Event | None = None,
    limit: int | None = None,
) -> int:
    """Pages until the source ends, `stop` is set or `limit` mentions went out; returns the count."""
    source.check()
    cursor = store.load(source.name) if store is not None else None
    sent = 0
    pages = source.pages(cursor)
    try:
        async for page in pages:
            if limit is not None and sent + len(page.mentions) > limit:  # cut short: keep the old cursor
                page = Page(page.mentions[: limit - sent], page.deletions, cursor=None)
            if page.mentions or page.deletions:
                await _deliver(sink, page, source.context.health, stop)
                source.context.health.published(len(page.mentions), len(page.deletions))
                sent += len(page.mentions)
            if page.cursor is not None and store is not None:
                store.save(source.name, page.cursor)
            if (stop is not None and stop.is_set()) or (limit is not None and sent >= limit):
                break
    finally:
        await pages.aclose()  # type: ignore[attr-defined]
    return sent


async def _deliver(sink: Sink, page: Page, health: SourceHealth, stop: asyncio.Event | None) -> None:
    """`sink.send(page)`; a sink that can resume is asked again after growing pauses until it has
    the page (or `stop` is set: the last error is raised and the cursor stays where it was)."""
    try:
        await sink.send(page)
        return
    except Exception as error:
        if not isinstance(sink, ResumableSink):
            raise
        failure: Exception = error
    for attempt in itertools.count(1):
        health.error("publish")
        pause = REDELIVER_PAUSE_SECONDS[min(attempt, len(REDELIVER_PAUSE_SECONDS)) - 1]
        health.backing_off(pause)
        log.warning(
            "source %s: Kafka does not have its page of %d mentions yet (%s); reading no further, "
            "asking again in %g s (attempt %d)",
            health.name,
            len(page.mentions),
            _describe(failure),
            pause,
            attempt,
        )
        if stop is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)
            if stop.is_set():
                raise failure
        else:
            await asyncio.sleep(pause)
        try:
            await sink.resume()
        except Exception as error:
            failure = error
            continue
        health.backing_off(0)
        log.warning("source %s: Kafka has the page after %d failed attempts", health.name, attempt)
        return


def _describe(error: Exception) -> str:
    if isinstance(error, TimeoutError):
        return f"not acknowledged within {ACK_TIMEOUT_SECONDS:.0f} s"
    return f"{type(error).__name__}: {error}"


async def run_forever(source: Source, sink: Sink, store: CheckpointStore, stop: asyncio.Event) -> None:
    """`run_source` again from the saved cursor whenever the source fails or ends, pausing longer
    after each consecutive failure."""
    failures = 0
    while not stop.is_set():
        try:
            await run_source(source, sink, store, stop)
            failures = 0
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a source must never take the process down
            log.warning("source %s failed: %s: %s", source.name, type(error).__name__, error)
            failures += 1
        pause = RESTART_PAUSE_SECONDS[min(failures, len(RESTART_PAUSE_SECONDS) - 1)] if failures else 1.0
        source.context.health.backing_off(pause)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), pause)
