"""A brand's monitor over two simulated days: buckets close on event time, alerts explain themselves."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from brandmon.schemas import Alert, Author, Engagement, Mention, ScoredMention, Sentiment
from streams.spike_monitor import BrandMonitor, MonitorSettings

BUCKET = 300
START = datetime(2024, 5, 1, tzinfo=UTC)
DAYS = 2
CHATTER = ["Just had coffee at Acme", "Acme opens a new store", "Acme support helped me", "Acme prices again"]


def record(
    text: str, author: str, at: datetime, n: int, compound: float = 0.0, likes: int = 0
) -> ScoredMention:
    label = "negative" if compound <= -0.05 else "positive" if compound >= 0.05 else "neutral"
    mention = Mention(
        id=f"mastodon:{n}",
        source="mastodon" if n % 3 else "bluesky",
        author=Author(id=author, handle=f"@{author}"),
        text=text,
        created_at=at,
        fetched_at=at,
        engagement=Engagement(likes=likes),
    )
    sentiment = Sentiment(compound=compound, pos=0, neu=1, neg=0, label=label, model="t", model_version="1")
    return ScoredMention(
        mention=mention, brand="acme", matched_terms=["acme"], lang="en", sentiment=sentiment, scored_at=at
    )


def background(rng: random.Random, buckets: int) -> Iterator[ScoredMention]:
    """A daily rhythm (quiet nights) with Poisson noise, from a pool of 400 authors."""
    n = 0
    for i in range(buckets):
        at = START + timedelta(seconds=i * BUCKET)
        hour = at.hour + at.minute / 60
        rate = 6.0 + 5.0 * math.sin((hour - 8) / 24 * 2 * math.pi)
        for _ in range(poisson(rng, rate)):
            n += 1
            yield record(
                rng.choice(CHATTER),
                f"user{rng.randrange(400)}",
                at + timedelta(seconds=rng.randrange(BUCKET)),
                n,
            )


def poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def run(records: list[ScoredMention], monitor: BrandMonitor) -> list[Alert]:
    alerts: list[Alert] = []
    for r in sorted(records, key=lambda r: r.mention.created_at):
        monitor.add(r)
        alerts += monitor.advance(r.mention.created_at.timestamp(), r.mention.created_at)
    end = START + timedelta(days=DAYS, hours=6)
    alerts += monitor.advance(end.timestamp(), end)
    return alerts


def monitor() -> BrandMonitor:
    return BrandMonitor("acme", "Acme", MonitorSettings(bucket_seconds=BUCKET, allowed_lateness_seconds=60))


def rumour(at: datetime, count: int, first: int) -> list[ScoredMention]:
    texts = [
        "Is it true that Acme is recalling its anvils?",
        "Acme anvil recall?? 😱",
        "Heard about the Acme anvil recall",
    ]
    return [
        record(
            texts[k % 3],
            f"rumour{k}",
            at + timedelta(seconds=k * BUCKET / count),
            first + k,
            -0.5,
            likes=k % 7,
        )
        for k in range(count)
    ]


def test_quiet_seasonal_days_raise_no_alert() -> None:
    rng = random.Random(1)
    buckets = DAYS * 86400 // BUCKET
    assert run(list(background(rng, buckets)), monitor()) == []


def test_a_rumour_burst_alerts_within_two_buckets_explains_itself_and_resolves() -> None:
    rng = random.Random(2)
    buckets = DAYS * 86400 // BUCKET
    burst_at = START + timedelta(days=1, hours=14)
    records = list(background(rng, buckets))
    for step in range(3):
        records += rumour(burst_at + timedelta(seconds=step * BUCKET), 40, 1_000_000 + step * 100)
    popular = [
        record("Acme opens a new store", f"star{k}", burst_at, 3_000_000 + k, likes=900) for k in range(6)
    ]
    alerts = run(records + popular, monitor())

    assert alerts[0].state == "opened"
    assert alerts[-1].state == "resolved"
    assert [a.state for a in alerts].count("opened") == 1
    opened = alerts[0]
    assert opened.bucket_start <= burst_at + timedelta(seconds=BUCKET)
    assert opened.first_seen == burst_at
    assert opened.topic in {"anvil recall", "recall", "anvils", "anvil", "recalling"}
    assert {t.term for t in opened.driving_terms} & {"recall", "anvil recall"}
    assert all(t.new for t in opened.driving_terms if "recall" in t.term)
    assert len({p.author for p in opened.posts}) == len(opened.posts) >= 3
    assert opened.posts == sorted(opened.posts, key=lambda p: -p.engagement)
    assert all("acme" in p.text.lower() and "anvil" in p.text.lower() for p in opened.posts), "on topic first"
    assert opened.rumour.enquiry_share > 0.2
    assert opened.rumour.likely_rumour
    assert opened.sentiment.during is not None
    assert opened.sentiment.before is not None
    assert opened.sentiment.during < opened.sentiment.before
    assert opened.observed > opened.expected * 3
    assert {a.alert_id for a in alerts} == {opened.alert_id}


def test_one_account_posting_hundreds_of_times_raises_nothing() -> None:
    rng = random.Random(3)
    buckets = DAYS * 86400 // BUCKET
    spam_at = START + timedelta(days=1, hours=14)
    records = list(background(rng, buckets))
    records += [
        record("Acme recall!!! buy now", "spammer", spam_at + timedelta(seconds=k), 2_000_000 + k)
        for k in range(500)
    ]
    assert run(records, monitor()) == []


def test_late_mentions_are_counted_in_their_bucket_or_reported() -> None:
    m = BrandMonitor("acme", "Acme", MonitorSettings(bucket_seconds=60, allowed_lateness_seconds=30))
    t0 = START
    assert m.add(record("Acme", "a", t0 + timedelta(seconds=10), 1))
    m.advance((t0 + timedelta(seconds=70)).timestamp(), t0)
    assert m.add(record("Acme", "b", t0 + timedelta(seconds=20), 2)), "within the allowed lateness"
    m.advance((t0 + timedelta(seconds=95)).timestamp(), t0)
    assert m.closed[-1].bucket.mentions == 2
    assert not m.add(record("Acme", "c", t0 + timedelta(seconds=30), 3))
    assert m.late == 1


def test_quiet_buckets_close_as_zeros_on_the_wall_clock() -> None:
    m = BrandMonitor("acme", "Acme", MonitorSettings(bucket_seconds=60, allowed_lateness_seconds=0))
    m.add(record("Acme", "a", START, 1))
    m.advance((START + timedelta(minutes=10)).timestamp(), START)
    assert [c.bucket.mentions for c in m.closed] == [1] + [0] * 9


@pytest.mark.parametrize("lateness", [0, 120])
def test_buckets_close_in_order_without_gaps(lateness: int) -> None:
    m = BrandMonitor("acme", "Acme", MonitorSettings(bucket_seconds=60, allowed_lateness_seconds=lateness))
    for minute in (0, 3, 7):
        m.add(record("Acme", "a", START + timedelta(minutes=minute), minute))
    m.advance((START + timedelta(minutes=20)).timestamp(), START)
    starts = [c.bucket.start for c in m.closed]
    assert starts == [START.timestamp() + 60 * i for i in range(len(starts))]
    assert [c.bucket.mentions for c in m.closed][:8] == [1, 0, 0, 1, 0, 0, 0, 1]


def test_a_news_burst_alerts_but_does_not_read_as_a_rumour() -> None:
    rng = random.Random(6)
    burst_at = START + timedelta(days=1, hours=14)
    records = list(background(rng, DAYS * 86400 // BUCKET))
    for step in range(3):
        at = burst_at + timedelta(seconds=step * BUCKET)
        records += [
            record("Acme opens a giant anvil factory in Aarhus", f"news{k}", at, 4_000_000 + step * 100 + k)
            for k in range(40)
        ]
    alerts = run(records, monitor())
    assert alerts[0].state == "opened"
    assert not alerts[0].rumour.likely_rumour
