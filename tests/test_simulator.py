"""The demo simulator: deterministic, believable traffic and a believable rumour burst."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from brandmon.schemas import MENTION_ID, Mention
from connectors.simulator import RumourBurst, Simulator


@dataclass(frozen=True)
class FakeBrand:
    id: str
    name: str
    aliases: list[str] = field(default_factory=list)
    competitors: str | None = None


BRANDS = [
    FakeBrand("nordbrew", "Nordbrew", ["Nordbrew Coffee"], "coffee"),
    FakeBrand("kaffeklubben", "Kaffeklubben", [], "coffee"),
    FakeBrand("zipscoot", "ZipScoot", ["Zip Scoot"], "scooters"),
    FakeBrand("rollr", "Rollr", [], "scooters"),
    FakeBrand("bikely", "Bikely"),
    FakeBrand("smorrebrod", "Smørrebrød Co"),
]
NOON = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
GERMAN = {"ich", "und", "von", "bei", "ist", "die", "der", "das", "nicht", "mit", "hat", "dass", "es", "ob"}
GERMAN |= {"wie", "auch", "neue", "neuen", "schon", "einen", "macht", "stimmt", "zu", "will", "im", "an"}
DANISH = {"og", "er", "jeg", "det", "hos", "fra", "til", "ikke", "har", "nogen", "om", "min", "en", "med"}
DANISH |= {"igen", "ny", "der", "at", "laver", "mig", "i", "nye", "på"}


def run(sim: Simulator, start: datetime, minutes: int) -> list[Mention]:
    """Drive the simulator the way the live demo does: one window per minute."""
    out: list[Mention] = []
    for i in range(minutes):
        out += sim.between(start + i * MINUTE, start + (i + 1) * MINUTE)
    return out


def words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def mentions_of(brand: FakeBrand, mentions: list[Mention]) -> list[Mention]:
    return [m for m in mentions if brand.name.lower().replace(" ", "") in m.text.lower().replace(" ", "")]


@pytest.fixture(scope="module")
def half_hour() -> list[Mention]:
    return run(Simulator(BRANDS, seed=7, start=NOON), NOON, 30)


def test_every_mention_is_valid_sorted_and_inside_its_window() -> None:
    sim = Simulator(BRANDS, seed=3, start=NOON)
    t0, t1 = NOON + timedelta(seconds=10), NOON + timedelta(seconds=70)
    batch = sim.between(t0, t1)
    assert batch
    assert all(isinstance(m, Mention) for m in batch)
    assert all(t0 <= m.created_at < t1 for m in batch)
    assert [m.created_at for m in batch] == sorted(m.created_at for m in batch)
    assert all(timedelta(seconds=0.5) <= m.fetched_at - m.created_at <= timedelta(seconds=20) for m in batch)
    assert all(m.url and m.url.startswith("https://") for m in batch)
    assert sim.between(t1, t0) == []
    assert Simulator(BRANDS, seed=3, start=NOON).between(NOON - MINUTE, NOON) == []


def test_same_seed_same_output_and_different_seed_different_output() -> None:
    a = run(Simulator(BRANDS, seed=11, start=NOON), NOON, 3)
    b = run(Simulator(BRANDS, seed=11, start=NOON), NOON, 3)
    c = run(Simulator(BRANDS, seed=12, start=NOON), NOON, 3)
    assert [(m.id, m.text, m.author.handle) for m in a] == [(m.id, m.text, m.author.handle) for m in b]
    assert a == b
    assert {m.id for m in a}.isdisjoint(m.id for m in c)
    assert [m.text for m in a] != [m.text for m in c]


def test_ids_are_unique_and_match_the_contract(half_hour: list[Mention]) -> None:
    assert len(half_hour) > 10_000
    ids = [m.id for m in half_hour]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(MENTION_ID, i) for i in ids)
    assert all(m.id.startswith(m.source + ":") for m in half_hour)


def test_every_brand_appears_with_uneven_shares(half_hour: list[Mention]) -> None:
    counts = {b.id: len(mentions_of(b, half_hour)) for b in BRANDS}
    assert min(counts.values()) > 50, counts
    assert max(counts.values()) > 4 * min(counts.values()), counts


def test_alias_forms_emoji_and_two_brand_posts(half_hour: list[Mention]) -> None:
    texts = [m.text for m in half_hour]
    assert any("#NordbrewCoffee" in t for t in texts)
    assert any("@zipscoot" in t for t in texts)
    assert any("Zip Scoot" in t for t in texts)
    assert 0.1 < sum(any(e in t for e in "😍🔥😡👍☕🛴") for t in texts) / len(texts) < 0.5
    both = [t for t in texts if "rollr" in t.lower() and "zipscoot" in t.lower().replace(" ", "")]
    assert both
    assert not [t for t in texts if "rollr" in t.lower() and "nordbrew" in t.lower()]


def test_languages_roughly_in_proportion_and_really_written_in_them(half_hour: list[Mention]) -> None:
    declared = Counter(m.lang_declared for m in half_hour)
    assert 0.22 < declared[None] / len(half_hour) < 0.38
    known = sum(declared[lang] for lang in ("en", "de", "da"))
    assert 0.55 < declared["en"] / known < 0.75
    assert 0.12 < declared["de"] / known < 0.28
    assert 0.08 < declared["da"] / known < 0.22
    assert set(declared) == {None, "en", "de", "da"}
    for m in half_hour:
        if m.lang_declared == "de":
            assert words(m.text) & GERMAN, m.text
        elif m.lang_declared == "da":
            assert words(m.text) & DANISH, m.text
    assert any("ö" in m.text or "ü" in m.text or "ß" in m.text for m in half_hour if m.lang_declared == "de")
    assert any("ø" in m.text or "å" in m.text or "æ" in m.text for m in half_hour if m.lang_declared == "da")


def test_sources_have_realistic_shares(half_hour: list[Mention]) -> None:
    shares = Counter(m.source for m in half_hour)
    assert set(shares) == {"mastodon", "bluesky", "reddit", "hackernews", "rss"}
    assert shares["mastodon"] + shares["bluesky"] > len(half_hour) / 2
    assert shares["hackernews"] < shares["reddit"]
    assert 0 < shares["rss"] < len(half_hour) * 0.15
    assert all(m.engagement.likes is None for m in half_hour if m.source == "rss")


def test_reshares_and_replies_point_to_earlier_posts(half_hour: list[Mention]) -> None:
    seen: dict[str, Mention] = {}
    reshares = replies = 0
    for m in half_hour:
        if m.reshare_of is not None:
            reshares += 1
            original = seen[m.reshare_of]
            assert original.text == m.text
            assert original.author.handle != m.author.handle
            assert original.created_at < m.created_at
        if m.reply_to is not None:
            replies += 1
            assert m.reply_to in seen
        seen[m.id] = m
    assert 0.08 < reshares / len(half_hour) < 0.22
    assert 0.02 < replies / len(half_hour) < 0.2


def test_power_users_post_a_lot_but_nobody_dominates(half_hour: list[Mention]) -> None:
    per_author = Counter(m.author.handle for m in half_hour)
    top5 = sum(n for _, n in per_author.most_common(5))
    assert 100 < len(per_author) <= 400
    assert 0.08 < top5 / len(half_hour) < 0.25
    assert per_author.most_common(1)[0][1] / len(half_hour) < 0.1
    followers = sorted(m.author.followers for m in half_hour if m.author.followers is not None)
    assert followers[-1] > 50 * followers[len(followers) // 2]  # heavy-tailed
    likes = sorted(m.engagement.likes or 0 for m in half_hour)
    assert likes[-1] > 20 * max(likes[len(likes) // 2], 1)


def test_rumour_burst_is_loud_widespread_multilingual_and_mostly_negative() -> None:
    burst = RumourBurst(brand_id="rollr", claim="recall", start=NOON + 10 * MINUTE)
    sim = Simulator(BRANDS, seed=5, base_rate_per_second=4.0, burst=burst, start=NOON)
    mentions = run(sim, NOON, 20)
    rollr = mentions_of(BRANDS[3], mentions)
    per_minute = Counter(int((m.created_at - NOON) / MINUTE) for m in rollr)
    before = sum(per_minute[i] for i in range(10)) / 10
    during = sum(per_minute[i] for i in range(10, 18)) / 8
    assert during > 3 * before, (before, during)
    assert per_minute[12] > per_minute[10]  # ramps up...
    assert per_minute[12] > per_minute[17]  # ...then decays

    rumour = [m for m in mentions if "recall" in m.text]
    assert rumour
    assert all(burst.start <= m.created_at < burst.start + 8 * MINUTE for m in rumour)
    assert len({m.author.handle for m in rumour}) >= 50
    assert Counter(m.author.handle for m in rumour).most_common(1)[0][1] < len(rumour) * 0.05
    assert len({m.source for m in rumour}) >= 3
    texts = [m.text for m in rumour]
    for phrase in ("Is it true that", "Stimmt es, dass", "Er det rigtigt at"):
        assert any(phrase in t for t in texts), phrase
    denials = [t for t in texts if "not true" in t or "stimmt nicht" in t or "ikke er sand" in t]
    assert 0 < len(denials) < 0.25 * len(texts)


def test_night_is_quieter_than_midday() -> None:
    day = datetime(2025, 3, 4, tzinfo=UTC)
    sim = Simulator(BRANDS, seed=9, base_rate_per_second=1.0, start=day)
    night = sim.between(day.replace(hour=3), day.replace(hour=4))
    midday = sim.between(day.replace(hour=13), day.replace(hour=14))
    assert len(midday) > 3 * len(night) > 0


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="naive"):
        Simulator(BRANDS, seed=1, start=datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="not among the brands"):
        Simulator(BRANDS, seed=1, start=NOON, burst=RumourBurst("nope", "recall", NOON))
