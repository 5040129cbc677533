"""An independent verifier for the failure tests, in the manner of Kafka Streams' system tests.

The input is built here with the brands each mention names written down by hand, so the expected
scored pairs and window counts do not come from brandmon's matcher. The expected alerts come from
`brandmon backtest`'s replay of the same input (the detector is what the spike tests check; here
the question is whether crashes, restarts and takeovers change what the stream publishes).
After a run, everything brandmon produced is read back from the real broker and compared.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from brandmon.config import load_config
from brandmon.schemas import ALERTS_TOPIC, SCORED_TOPIC, Alert, Mention, ScoredMention
from brandmon.settings import Settings
from streams.replay import replay_alerts
from streams.scoring import MentionScorer
from streams.spike_rebuild import AlertKey, alert_key
from streams.spike_tracker import monitor_settings
from tests.kafka_helpers import WINDOW_CHANGELOG, mention, read_topic, window_counts
from tests.test_spike_monitor import BUCKET, DAYS, START, background, rumour

SPIKE_SETTINGS = {"spike_bucket_seconds": BUCKET, "spike_lateness_seconds": 60}
SPIKE_ENV = {f"BRANDMON_{name.upper()}": str(value) for name, value in SPIKE_SETTINGS.items()}
VOLUME_TEXTS: list[tuple[str, set[str]]] = [
    ("globex support is awful and slow", {"globex"}),
    ("Initech printers jam again. Terrible.", {"initech"}),
    ("globex and initech both raised prices", {"globex", "initech"}),
    ("pineapple pizza is fine", set()),
]
VOLUME_SECONDS = 1800


@dataclass
class Corpus:
    """Two days of Acme chatter with a rumour, ending now, plus recent Globex/Initech volume."""

    mentions: list[Mention]
    brands_of: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def build(cls, volume: int, seed: int = 5) -> Corpus:
        now = math.floor(datetime.now(UTC).timestamp() / BUCKET) * BUCKET
        shift = datetime.fromtimestamp(now, UTC) - timedelta(days=DAYS) - START
        rng = random.Random(seed)
        records = list(background(rng, DAYS * 86400 // BUCKET))
        burst_at = START + timedelta(days=1, hours=15)
        for step in range(3):
            records += rumour(burst_at + timedelta(seconds=step * BUCKET), 40, 1_000_000 + step * 100)
        acme = [
            r.mention.model_copy(
                update={
                    "created_at": r.mention.created_at + shift,
                    "fetched_at": r.mention.fetched_at + shift,
                }
            )
            for r in records
        ]
        corpus = cls([])
        for item in acme:
            corpus.brands_of[item.id] = {"acme"}  # every chatter and rumour text names Acme
        for n in range(volume):
            text, brands = VOLUME_TEXTS[n % len(VOLUME_TEXTS)]
            item = mention(
                n,
                f"{text} #{n}",
                created_at=now - VOLUME_SECONDS + n * VOLUME_SECONDS / volume,
                source="reddit",
            )
            corpus.brands_of[item.id] = brands
            acme.append(item)
        corpus.mentions = sorted(acme, key=lambda m: m.created_at)
        return corpus

    @property
    def pairs(self) -> set[tuple[str, str]]:
        return {(mention_id, brand) for mention_id, brands in self.brands_of.items() for brand in brands}

    def window_counts(self, window_seconds: int, since: float) -> Counter[tuple[str, float]]:
        counts: Counter[tuple[str, float]] = Counter()
        for item in self.mentions:
            start = float(math.floor(item.created_at.timestamp() / window_seconds) * window_seconds)
            if start >= since:
                for brand in self.brands_of[item.id]:
                    counts[(brand, start)] += 1
        return counts

    def alert_keys(self, settings: Settings) -> list[AlertKey]:
        """What the stream must publish, up to the last bucket the data itself closes."""
        config = load_config(settings.config)
        spike = monitor_settings(settings.model_copy(update=SPIKE_SETTINGS))
        alerts = replay_alerts(
            self.mentions,
            MentionScorer(config.brands, config.languages),
            {b.id: b.name for b in config.brands},
            spike,
        )
        newest = self.mentions[-1].created_at.timestamp()
        cutoff = newest - spike.allowed_lateness_seconds - 2 * spike.bucket_seconds
        return [alert_key(a) for a in alerts if a.bucket_start.timestamp() <= cutoff]


@dataclass
class Outcome:
    mentions_in: int
    scored_unique: int
    lost: int
    duplicated: int
    extra: int
    windows_wrong: int
    alerts_expected: int
    alerts_missing: int
    alerts_unexpected: int
    alerts_detail: str = ""


def verify(settings: Settings, corpus: Corpus, give_up_after: float = 120) -> Outcome:
    """Read what brandmon produced (waiting until it is complete or `give_up_after`) and compare."""
    expected_pairs = corpus.pairs

    def pairs_of(records: list[tuple[bytes | None, bytes]]) -> list[tuple[str, str]]:
        scored = (ScoredMention.model_validate_json(value) for _, value in records)
        return [(s.mention.id, s.brand) for s in scored]

    scored = pairs_of(
        asyncio.run(
            read_topic(
                settings,
                SCORED_TOPIC,
                lambda got: len(set(pairs_of(got))) >= len(expected_pairs),
                give_up_after,
            )
        )
    )
    since = corpus.mentions[-1].created_at.timestamp() - settings.window_expires_seconds / 2
    truth = corpus.window_counts(settings.window_seconds, since)

    def recent(counts: Counter[tuple[str, float]]) -> Counter[tuple[str, float]]:
        return Counter({key: value for key, value in counts.items() if key[1] >= since})

    changelog = asyncio.run(
        read_topic(settings, WINDOW_CHANGELOG, lambda got: recent(window_counts(got)) == truth, give_up_after)
    )
    counted = recent(window_counts(changelog))
    expected_alerts = set(corpus.alert_keys(settings))

    def alert_keys(records: list[tuple[bytes | None, bytes]]) -> set[AlertKey]:
        return {alert_key(Alert.model_validate_json(value)) for _, value in records}

    published = alert_keys(
        asyncio.run(
            read_topic(settings, ALERTS_TOPIC, lambda got: alert_keys(got) >= expected_alerts, give_up_after)
        )
    )
    cutoff = max((datetime.fromisoformat(key[2]) for key in expected_alerts), default=None)
    comparable = {key for key in published if cutoff is None or datetime.fromisoformat(key[2]) <= cutoff}
    unique = set(scored)
    return Outcome(
        mentions_in=len(corpus.mentions),
        scored_unique=len(unique & expected_pairs),
        lost=len(expected_pairs - unique),
        duplicated=len(scored) - len(unique),
        extra=len(unique - expected_pairs),
        windows_wrong=sum(1 for key in truth.keys() | counted.keys() if truth[key] != counted[key]),
        alerts_expected=len(expected_alerts),
        alerts_missing=len(expected_alerts - published),
        alerts_unexpected=len(comparable - expected_alerts),
        alerts_detail=f"missing {sorted(expected_alerts - published)}, "
        f"unexpected {sorted(comparable - expected_alerts)}",
    )
