"""The demo's live view: rates and the trend a viewer reads to spot a brand taking off."""

from __future__ import annotations

from datetime import UTC, datetime

from brandmon.config import parse_config
from brandmon.live_view import LiveView
from brandmon.schemas import Mention, ScoredMention, Sentiment
from streams.sentiment import label_for

CONFIG = parse_config(
    """
brands:
  - {id: acme, name: Acme, aliases: [acme]}
  - {id: globex, name: Globex, aliases: [globex]}
"""
)
T0 = 1_700_000_000.0


def record(brand: str, compound: float | None, n: int) -> ScoredMention:
    created = datetime.fromtimestamp(T0, UTC)
    mention = Mention(
        id=f"sim:{brand}{n}", source="sim", text=f"{brand} text", created_at=created, fetched_at=created
    )
    sentiment = (
        None
        if compound is None
        else Sentiment(
            compound=compound,
            pos=0.0,
            neu=1.0,
            neg=0.0,
            label=label_for(compound),
            model="test",
            model_version="0",
        )
    )
    return ScoredMention(
        mention=mention, brand=brand, matched_terms=[brand], lang="en", sentiment=sentiment, scored_at=created
    )


def rows_by_brand(view: LiveView, now: float) -> dict[str, tuple[int, float | None, float | None, int]]:
    return {row[0]: row[1:] for row in view.rows(now)}


def test_trend_is_unknown_until_half_a_minute_of_earlier_history_exists() -> None:
    view = LiveView(CONFIG, "http://127.0.0.1:1/metrics")
    seen: dict[int, tuple[int, float | None, float | None, int]] = {}
    for n in range(96):  # one a second, from the first record on
        view.add(record("acme", 0.5, n), now=T0 + n)
        seen[n] = rows_by_brand(view, T0 + n)["acme"]
    assert seen[40] == (41, None, 1.0, 41)
    assert seen[89][1] is None, "29 s of earlier history is not enough"
    rate, trend, _, _ = seen[95]
    assert rate == 61
    assert trend is not None
    assert abs(trend - 1.0) < 0.05


def test_steady_rate_reads_one_and_a_burst_reads_its_multiple() -> None:
    view = LiveView(CONFIG, "http://127.0.0.1:1/metrics", started=T0)
    n = 0
    for second in range(240):  # 10 a minute for four minutes
        if second % 6 == 0:
            view.add(record("acme", 0.5, n), now=T0 + second)
            view.add(record("globex", 0.5, n), now=T0 + second)
            n += 1
    for second in range(240, 300):  # then acme triples, globex stays
        if second % 2 == 0:
            view.add(record("acme", -0.5, n), now=T0 + second)
            n += 1
        if second % 6 == 0:
            view.add(record("globex", 0.5, n), now=T0 + second)
    rows = rows_by_brand(view, T0 + 299.5)
    acme_rate, acme_trend, acme_net, _ = rows["acme"]
    globex_rate, globex_trend, globex_net, _ = rows["globex"]
    assert (acme_rate, globex_rate) == (30, 10)
    assert acme_trend is not None
    assert abs(acme_trend - 3.0) < 0.2
    assert globex_trend is not None
    assert abs(globex_trend - 1.0) < 0.2
    assert (acme_net, globex_net) == (-1.0, 1.0)


def test_unmatched_brand_and_unscored_language_do_not_break_the_view() -> None:
    view = LiveView(CONFIG, "http://127.0.0.1:1/metrics", started=T0)
    view.add(record("initech", 0.5, 1), now=T0)
    view.add(record("acme", None, 2), now=T0)
    rows = rows_by_brand(view, T0 + 1)
    assert rows["acme"] == (1, None, None, 1)
    assert "initech" not in rows
    view.render()
