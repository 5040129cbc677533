"""What the stream does with one raw message, free of Faust so it can be read and tested alone.

decode -> dead-letter the bad -> drop recent duplicates -> match, detect language, score ->
publish scored records and dead letters (awaited, so Kafka has them before the offset can be
committed) -> add the batch to each (brand, window) once, skipping offsets already applied.
An edit (same id, later `edited_at`) is scored and published so consumers can correct, but not
counted again; deletions are counted (`brandmon_deletions_total`).
"""

from __future__ import annotations

import base64
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from cachetools import TTLCache

from brandmon.schemas import (
    DLQ_MAX_ORIGINAL_BYTES,
    DLQ_TOPIC,
    SCORED_TOPIC,
    DeadLetter,
    DeadLetterOrigin,
    Mention,
    ScoredMention,
    dumps,
)
from streams.decode import Decoded, Rejected, decode_raw
from streams.metrics import StreamMetrics, source_label
from streams.scoring import MentionScorer
from streams.windows import WindowDelta, WindowStore, apply_delta, group_by_window, table_key

log = logging.getLogger(__name__)

Send = Callable[[list[tuple[str, bytes | None, bytes]]], Awaitable[None]]
"""Publishes (topic, key, value) records and returns once Kafka acknowledged all of them."""


def dedup_key(mention: Mention) -> str:
    """An edit is new information: it is the same mention id with a later `edited_at`."""
    if mention.edited_at is None:
        return mention.id
    return f"{mention.id}@{mention.edited_at.isoformat()}"


@dataclass(frozen=True, slots=True)
class RawMessage:
    topic: str
    partition: int
    offset: int
    value: bytes | None


class MentionProcessor:
    def __init__(
        self,
        scorer: MentionScorer,
        metrics: StreamMetrics,
        send: Send,
        *,
        window_seconds: int,
        dedup_ttl_seconds: int,
        dedup_max_ids: int,
    ) -> None:
        self._scorer = scorer
        self._metrics = metrics
        self._send = send
        self._window_seconds = window_seconds
        self._seen: TTLCache[str, bool] = TTLCache(maxsize=dedup_max_ids, ttl=dedup_ttl_seconds)

    async def handle(self, message: RawMessage, windows: WindowStore) -> None:
        now = datetime.now(UTC)
        fresh_ids: set[str] = set()
        try:
            decoded, scored, rejected = self._derive(message, now, fresh_ids)
        except Exception as error:  # a bug must cost one message (dead-lettered), not the partition
            log.exception("processing failed at %s[%d]@%d", message.topic, message.partition, message.offset)
            detail = f"{type(error).__name__}: {error}"
            decoded, scored, rejected = None, [], [Rejected("processing_error", detail, message.value or b"")]
        await self._send(
            [(SCORED_TOPIC, r.brand.encode(), dumps(r)) for r in scored]
            + [(DLQ_TOPIC, None, dumps(self._dead_letter(message, r, now))) for r in rejected]
        )
        for mention_id in fresh_ids:  # only once Kafka has them: a failed send must not make them "seen"
            self._seen[mention_id] = True
        for reason in rejected:
            self._metrics.dead_letters.labels(reason.reason).inc()
        self._count(message, [r for r in scored if r.mention.edited_at is None], windows)
        if decoded is not None and decoded.deletions:
            self._metrics.deletions.inc(len(decoded.deletions))
        if decoded is not None and decoded.mentions:
            self._metrics.observe_partition(
                message.partition,
                message.offset,
                max(m.created_at.timestamp() for m in decoded.mentions),
                max(m.fetched_at.timestamp() for m in decoded.mentions),
            )

    def _derive(
        self, message: RawMessage, now: datetime, fresh_ids: set[str]
    ) -> tuple[Decoded, list[ScoredMention], list[Rejected]]:
        """Score the message's mentions not seen before, adding their ids to `fresh_ids`."""
        decoded = decode_raw(message.value)
        rejected = list(decoded.rejected)
        scored: list[ScoredMention] = []
        for mention in decoded.mentions:
            key = dedup_key(mention)
            if key in self._seen or key in fresh_ids:
                self._metrics.duplicates.inc()
                continue
            fresh_ids.add(key)
            try:
                result = self._scorer.score(mention, only_if_matched=True)
            except Exception as error:  # one pathological text must not cost its neighbours
                log.exception("scoring failed for %s", mention.id)
                original = dumps(mention)
                rejected.append(Rejected("processing_error", f"{type(error).__name__}: {error}", original))
                continue
            if result is not None:
                scored.extend(result.records(now))
        return decoded, scored, rejected

    def _count(self, message: RawMessage, scored: Iterable[ScoredMention], windows: WindowStore) -> None:
        counted: Counter[tuple[str, str, str]] = Counter()
        for (brand, start), records in group_by_window(scored, self._window_seconds).items():
            key = table_key(brand, message.partition)
            delta = WindowDelta.of(r.sentiment for r in records)
            updated = apply_delta(windows.get(key, start), delta, message.offset)
            if updated is None:
                self._metrics.replays_skipped.inc(len(records))
                continue
            windows.set(key, start, updated)
            compound = self._metrics.compound.labels(brand)
            for record in records:
                sentiment = record.sentiment
                label = sentiment.label if sentiment is not None else "none"
                counted[(brand, source_label(record.mention.source), label)] += 1
                if sentiment is not None:
                    compound.observe(sentiment.compound)
        for labels, count in counted.items():  # labels() costs as much as the rest of a record
            self._metrics.mentions.labels(*labels).inc(count)

    @staticmethod
    def _dead_letter(message: RawMessage, rejected: Rejected, now: datetime) -> DeadLetter:
        original = rejected.original
        kept = original[:DLQ_MAX_ORIGINAL_BYTES]
        return DeadLetter(
            reason=rejected.reason,
            detail=rejected.detail[:2000],
            origin=DeadLetterOrigin(
                topic=message.topic, partition=message.partition, offset=message.offset, index=rejected.index
            ),
            original=base64.b64encode(kept).decode("ascii"),
            original_truncated=len(kept) < len(original),
            original_bytes=len(original),
            dead_lettered_at=now,
        )
