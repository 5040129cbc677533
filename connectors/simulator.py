"""Seeded, pure generator of realistic social mentions for the live demo and for tests.

No Kafka, no I/O, no wall clock: `Simulator.between(t0, t1)` returns the mentions whose event time
falls in `[t0, t1)`. The same seed and the same sequence of calls give exactly the same output.
Native ids are snowflake-like (13-digit epoch milliseconds + 5 random digits) and unique as long
as windows are requested in time order, which is what a real-time driver does.
"""

from __future__ import annotations

import itertools
import math
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from brandmon.schemas import Author, Engagement, Mention


class BrandLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def aliases(self) -> Sequence[str]: ...
    @property
    def competitors(self) -> str | None: ...


@dataclass(frozen=True)
class RumourBurst:
    """A rumour about one brand: extra, mostly negative mentions that ramp up, peak and decay."""

    brand_id: str
    claim: str
    start: datetime
    ramp_seconds: float = 120.0
    peak_per_second: float = 6.0
    duration_seconds: float = 480.0

    def rate(self, seconds_in: float) -> float:
        """Extra mentions per second, `seconds_in` seconds after the burst starts."""
        if seconds_in < 0.0 or seconds_in >= self.duration_seconds:
            return 0.0
        if seconds_in < self.ramp_seconds:
            return self.peak_per_second * seconds_in / self.ramp_seconds
        decay = (seconds_in - self.ramp_seconds) / (self.duration_seconds - self.ramp_seconds)
        return self.peak_per_second * math.exp(-3.0 * decay)


# Rate multiplier by UTC hour (European audience): quiet at night, peaks midday and evening.
_DIURNAL = (0.5, 0.4, 0.3, 0.3, 0.3, 0.4, 0.6, 0.9, 1.1, 1.2, 1.3, 1.4,
            1.5, 1.5, 1.4, 1.3, 1.3, 1.4, 1.5, 1.5, 1.4, 1.2, 0.9, 0.7)  # fmt: skip
_DIURNAL_MAX = max(_DIURNAL)


def diurnal(timestamp: float) -> float:
    """Rate multiplier at a POSIX timestamp, interpolated between whole UTC hours."""
    hour = (timestamp % 86400.0) / 3600.0
    i = min(int(hour), 23)
    frac = hour - i
    return _DIURNAL[i] * (1.0 - frac) + _DIURNAL[(i + 1) % 24] * frac


_SOURCES = ("mastodon", "bluesky", "reddit", "hackernews", "rss")
_SOURCE_WEIGHTS = (0.36, 0.32, 0.2, 0.06, 0.06)
_SHAREABLE = ("mastodon", "bluesky")
_LANGS = ("en", "de", "da")
_LANG_WEIGHTS = (0.65, 0.2, 0.15)
_KINDS = ("complaint", "praise", "question", "news")
_KIND_WEIGHTS = {"rss": (0, 0, 0, 1), "hackernews": (0.1, 0.1, 0.3, 0.5), "": (0.3, 0.3, 0.15, 0.25)}
_INSTANCES = ["mastodon.social", "norden.social", "chaos.social", "mas.to", "fosstodon.org", "mstdn.dk"]
_SUBREDDITS = ["europe", "denmark", "de", "technology", "BuyItForLife", "CustomerService", "copenhagen"]
_OUTLETS = {
    "en": ["techcrunch.com", "theverge.com"],
    "de": ["heise.de", "t3n.de"],
    "da": ["dr.dk", "politiken.dk"],
}
_FIRST = ["anna", "lars", "mette", "jonas", "sophie", "mads", "lukas", "freja", "tobias", "kat", "ben", "ida"]
_WORDS = ["coffee", "dev", "nerd", "bikes", "cph", "berlin", "photo", "runner", "cats", "jazz", "ops", "dk"]
_EMOJI = {"complaint": "😡 👎 😤 🙄", "praise": "😍 🔥 👍 ❤️ 🎉", "question": "🤔 🙏", "news": "☕ 🛴 📦 👀"}
_B32 = "abcdefghijklmnopqrstuvwxyz234567"
_TEXTS = """
[en complaint]
Ordered from {b} two weeks ago and still nothing. Done with them.
{b} customer service is a joke
Why is the {b} app crashing again?
Price hike at {b} again. No thanks.
Really disappointed with {b} lately
{b} cancelled my order without a word
[en praise]
Honestly {b} nailed it this time
Love the new stuff from {b}
Shout-out to {b} support, fixed my issue in 5 minutes
{b} is still the best in town
Great experience with {b} today
[en question]
Does anyone know if {b} ships to Norway?
Is {b} open on Sundays?
Anyone tried the new {b} subscription? Worth it?
How do I cancel my {b} account?
[en news]
{b} opens new flagship store in Copenhagen
{b} reports higher quarterly sales
{b} announces partnership with local startups
{b} to hire 200 people in Berlin
{b} launches a new version of its app
[en switch]
Switched from {a} to {b} and never looking back
Ditched {a} for {b}. Should have done it years ago
[en claim]
Heard {b} is doing a {c} of their products
{b} {c}?? 😱
So {b} is doing a {c} now. Great.
My cousin works at {b}, says a {c} is coming. Not good.
Anyone else seeing this {b} {c} thing? Terrible if true
[en enquiry]
Is it true that {b} is doing a {c}?
Can anyone confirm the {b} {c}? Worried
[en denial]
{b} says the {c} story is not true
[de complaint]
Seit zwei Wochen warte ich auf meine Bestellung bei {b}. Echt nicht gut.
Der Kundenservice von {b} ist eine Katastrophe
Warum stürzt die App von {b} schon wieder ab?
Schon wieder teurer bei {b}. Nein danke.
Ich bin wirklich enttäuscht von {b}
[de praise]
Ehrlich, {b} hat das richtig gut gemacht
Ich liebe die neuen Sachen von {b}
Danke an den Support von {b}, alles in 5 Minuten gelöst
{b} ist und bleibt der Beste
Super Erfahrung mit {b} heute, danke
[de question]
Weiß jemand, ob {b} auch nach Österreich liefert?
Hat {b} am Sonntag geöffnet?
Hat jemand das neue Abo von {b} ausprobiert? Lohnt sich das?
Wie kündige ich mein Konto bei {b}?
[de news]
{b} eröffnet neuen Laden in Hamburg
{b} meldet steigende Umsätze im Quartal
{b} kündigt Partnerschaft mit Start-ups an
{b} will 200 neue Stellen in Berlin schaffen
[de switch]
Von {a} zu {b} gewechselt und ich bereue nichts
[de claim]
Habe gehört, {b} macht einen {c} 😱
{b} {c}?? Das ist ja schlimm
Angeblich gibt es einen {c} bei {b}. Unglaublich.
[de enquiry]
Stimmt es, dass {b} einen {c} macht?
Weiß jemand, ob das mit dem {c} bei {b} stimmt?
[de denial]
{b} sagt, die Geschichte mit dem {c} stimmt nicht
[da complaint]
Har ventet to uger på min ordre fra {b}. Ikke i orden.
Kundeservice hos {b} er en joke
Hvorfor crasher appen fra {b} igen?
Prisen er steget igen hos {b}. Nej tak.
Jeg er virkelig skuffet over {b}
[da praise]
Ærligt talt, {b} har gjort det rigtig godt
Jeg elsker de nye ting fra {b}
Tak til kundeservice hos {b}, løst på 5 minutter
{b} er stadig den bedste i byen
Super oplevelse med {b} i dag
[da question]
Er der nogen der ved om {b} sender til Sverige?
Har {b} åbent om søndagen?
Har nogen prøvet det nye abonnement fra {b}? Er det det værd?
Hvordan opsiger jeg min konto hos {b}?
[da news]
{b} åbner ny butik i Aarhus
{b} melder om stigende salg i kvartalet
{b} indgår partnerskab med lokale startups
{b} vil ansætte 200 nye medarbejdere i København
[da switch]
Skiftede fra {a} til {b} og ser mig ikke tilbage
[da claim]
Hørt at {b} laver en {c} 😱
{b} {c}?? Det er slemt
Åbenbart er der {c} hos {b}. Utroligt.
[da enquiry]
Er det rigtigt at {b} laver en {c}?
Ved nogen om det med {c} hos {b} passer?
[da denial]
{b} siger, at historien om {c} ikke er sand
"""
"""Templates by `[language kind]`: {b} is a brand alias, {a} a rival's alias, {c} the rumour's claim."""


def _parse_texts(table: str) -> dict[tuple[str, str], tuple[str, ...]]:
    out: dict[tuple[str, str], list[str]] = {}
    key = ("", "")
    for line in filter(None, table.splitlines()):
        if line.startswith("["):
            key = (line[1:3], line[4:-1])
        else:
            out.setdefault(key, []).append(line)
    return {k: tuple(v) for k, v in out.items()}


_TEMPLATES = _parse_texts(_TEXTS)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class _Poster:
    source: str
    lang: str
    name: str
    home: str  # mastodon instance or rss outlet
    model: Author


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime; pass an aware (UTC) datetime")
    return value.astimezone(UTC)


class Simulator:
    """Generates the mentions of a seeded synthetic social world, window by window."""

    def __init__(
        self,
        brands: Sequence[BrandLike],
        *,
        seed: int,
        base_rate_per_second: float = 8.0,
        burst: RumourBurst | None = None,
        start: datetime,
    ) -> None:
        if not brands:
            raise ValueError("at least one brand is needed")
        if base_rate_per_second < 0:
            raise ValueError("base_rate_per_second must be >= 0")
        self._rng = rng = random.Random(seed)
        self._start, self._base, self._burst = _utc(start), base_rate_per_second, burst
        self._burst_start = _utc(burst.start) if burst else self._start
        ids = [b.id for b in brands]
        self._burst_idx = ids.index(burst.brand_id) if burst and burst.brand_id in ids else -1
        if burst and self._burst_idx < 0:
            raise ValueError(f"burst brand {burst.brand_id!r} is not among the brands")
        self._names = [
            [(n, "".join(ch for ch in n if ch.isalnum())) for n in dict.fromkeys([b.name, *b.aliases]) if n]
            or [(b.id, b.id)]
            for b in brands
        ]
        weights = [rng.uniform(0.6, 1.4) / (i + 1) ** 1.2 for i in range(len(brands))]
        self._brand_cum = list(itertools.accumulate(weights))
        self._rivals = [
            [j for j, o in enumerate(brands) if j != i and b.competitors and o.competitors == b.competitors]
            for i, b in enumerate(brands)
        ]
        self._make_authors()
        self._recent: dict[str, deque[tuple[Mention, int]]] = {s: deque(maxlen=200) for s in _SOURCES}
        self._shareable: deque[Mention] = deque(maxlen=300)
        self._burst_shareable: deque[Mention] = deque(maxlen=300)
        self._id_ms, self._id_seen = -1, set[str]()

    def _make_authors(self, count: int = 400) -> None:
        rng, seen = self._rng, set[str]()
        self._power: list[_Poster] = []
        self._regular: list[_Poster] = []
        regular_weights: list[float] = []
        for k in range(count):
            power = k < 5
            source = _SHAREABLE[k % 2] if power else rng.choices(_SOURCES, _SOURCE_WEIGHTS)[0]
            lang = ("en", "en", "en", "de", "da")[k] if power else rng.choices(_LANGS, _LANG_WEIGHTS)[0]
            lang = "en" if source == "hackernews" else lang
            name = ""
            while not name or name in seen:
                suffix = rng.choice(("", str(rng.randrange(10, 100)), "_" + rng.choice(_WORDS)))
                name = rng.choice(_FIRST) + suffix
            seen.add(name)
            home = rng.choice(_OUTLETS[lang] if source == "rss" else _INSTANCES)
            followers = (
                rng.randrange(20_000, 250_000) if power else min(int(rng.paretovariate(1.1) * 25), 2_000_000)
            )
            handle = {"mastodon": f"@{name}@{home}", "bluesky": f"{name}.bsky.social", "reddit": f"u/{name}"}
            rid = "".join(rng.choices(_B32, k=24))
            author_id = {
                "mastodon": str(rng.randrange(10**17, 10**18)),
                "bluesky": "did:plc:" + rid,
                "reddit": "t2_" + rid[:8],
            }
            reported = followers if source in _SHAREABLE else None
            poster = _Poster(
                source,
                lang,
                name,
                home,
                Author(id=author_id.get(source, name), handle=handle.get(source, name), followers=reported),
            )
            (self._power if power else self._regular).append(poster)
            if not power:
                regular_weights.append(min(rng.paretovariate(1.5), 20.0) * (3.0 if source == "rss" else 1.0))
        self._regular_cum = list(itertools.accumulate(regular_weights))
        everyone = self._power + self._regular
        self._by_source = {s: [p for p in everyone if p.source == s] for s in _SOURCES}
        self._social = [p for p in self._regular if p.source in ("mastodon", "bluesky", "reddit")]

    def between(self, t0: datetime, t1: datetime) -> list[Mention]:
        """All mentions with `t0 <= created_at < t1` (and not before `start`), sorted by `created_at`."""
        t0, t1 = max(_utc(t0), self._start), _utc(t1)
        if t1 <= t0:
            return []
        rng, span, ts0 = self._rng, (t1 - t0).total_seconds(), t0.timestamp()
        events: list[tuple[float, bool]] = []
        lam = self._base * _DIURNAL_MAX  # Poisson arrivals by thinning a homogeneous process
        t = rng.expovariate(lam) if lam > 0 else span
        while t < span:
            if rng.random() * _DIURNAL_MAX < diurnal(ts0 + t):
                events.append((t, False))
            t += rng.expovariate(lam)
        if (b := self._burst) is not None and b.peak_per_second > 0:
            offset = (self._burst_start - t0).total_seconds()
            t, end = max(0.0, offset), min(span, offset + b.duration_seconds)
            while (t := t + rng.expovariate(b.peak_per_second)) < end:
                if rng.random() * b.peak_per_second < b.rate(t - offset):
                    events.append((t, True))
        events.sort()
        base_us, span_us = (t0 - _EPOCH) // _US, (t1 - t0) // _US
        out = []
        for t, in_burst in events:
            off_us = min(int(t * 1e6), span_us - 1)
            created = t0 + timedelta(microseconds=off_us)
            out.append((self._rumour if in_burst else self._post)(created, base_us + off_us))
        return out

    def _post(self, created: datetime, us: int) -> Mention:
        rng = self._rng
        if self._shareable and rng.random() < 0.15:
            return self._reshare(rng.choice(self._shareable), created, us)
        p = (
            rng.choice(self._power)
            if rng.random() < 0.17
            else rng.choices(self._regular, cum_weights=self._regular_cum)[0]
        )
        lang = p.lang if p.source == "rss" or rng.random() < 0.85 else rng.choices(_LANGS, _LANG_WEIGHTS)[0]
        kind = rng.choices(_KINDS, _KIND_WEIGHTS.get(p.source, _KIND_WEIGHTS[""]))[0]
        bi = rng.choices(range(len(self._brand_cum)), cum_weights=self._brand_cum)[0]
        parent, recent = None, self._recent[p.source]
        if recent and p.source != "rss" and rng.random() < 0.12:
            (parent, bi), kind = rng.choice(recent), rng.choice(_KINDS[:3])
        if kind != "news" and self._rivals[bi] and rng.random() < 0.08:
            alias = self._alias(rng.choice(self._rivals[bi]))
            text = rng.choice(_TEMPLATES[lang, "switch"]).format(a=alias, b=self._alias(bi))
        else:
            text = rng.choice(_TEMPLATES[lang, kind]).format(b=self._alias(bi))
        if p.source != "rss" and rng.random() < 0.35:
            text += " " + rng.choice(_EMOJI[kind].split())
        m = self._make(p, text, self._declared(lang), created, us, reply_to=parent.id if parent else None)
        if p.source != "rss":
            recent.append((m, bi))
        if p.source in _SHAREABLE:
            self._shareable.append(m)
        return m

    def _rumour(self, created: datetime, us: int) -> Mention:
        rng, burst = self._rng, self._burst
        assert burst is not None
        if self._burst_shareable and rng.random() < 0.2:
            return self._reshare(rng.choice(self._burst_shareable), created, us)
        r = rng.random()
        kind = "claim" if r < 0.5 else "enquiry" if r < 0.88 else "denial"
        rss = self._by_source["rss"]
        p = rng.choice(rss if kind == "denial" and rss and rng.random() < 0.5 else self._social)
        lang = p.lang if p.source == "rss" or rng.random() < 0.85 else rng.choices(_LANGS, _LANG_WEIGHTS)[0]
        text = rng.choice(_TEMPLATES[lang, kind]).format(b=self._alias(self._burst_idx), c=burst.claim)
        if kind == "claim" and "😱" not in text and rng.random() < 0.4:
            text += " " + rng.choice(("😱", "😡", "😬", "🤬"))
        m = self._make(p, text, self._declared(lang), created, us)
        if p.source in _SHAREABLE:
            self._burst_shareable.append(m)
        return m

    def _reshare(self, orig: Mention, created: datetime, us: int) -> Mention:
        candidates = self._by_source[orig.source]
        p = self._rng.choice(candidates)
        while p.model.handle == orig.author.handle:
            p = self._rng.choice(candidates)
        return self._make(p, orig.text, orig.lang_declared, created, us, reshare_of=orig.id, scale=0.3)

    def _alias(self, bi: int) -> str:
        rng = self._rng
        name, compact = rng.choice(self._names[bi])
        r = rng.random()
        if r < 0.62 or not compact:
            return name
        return "#" + compact if r < 0.85 else "@" + compact.lower()

    def _declared(self, lang: str) -> str | None:
        return None if self._rng.random() < 0.3 else lang

    def _make(
        self,
        p: _Poster,
        text: str,
        lang: str | None,
        created: datetime,
        us: int,
        *,
        reshare_of: str | None = None,
        reply_to: str | None = None,
        scale: float = 1.0,
    ) -> Mention:
        rng, ms = self._rng, us // 1000
        if ms != self._id_ms:
            self._id_ms, self._id_seen = ms, set()
        while (nid := f"{ms:013d}{rng.randrange(100_000):05d}") in self._id_seen:
            pass
        self._id_seen.add(nid)
        url = {
            "mastodon": f"https://{p.home}/@{p.name}/{nid}",
            "bluesky": f"https://bsky.app/profile/{p.model.handle}/post/{nid}",
            "reddit": f"https://www.reddit.com/r/{rng.choice(_SUBREDDITS)}/comments/{nid}/",
            "hackernews": f"https://news.ycombinator.com/item?id={nid}",
        }.get(p.source, f"https://{p.home}/news/{nid}")
        engagement = Engagement()
        if p.source != "rss":
            s = scale * (1.0 + math.log10(1 + (p.model.followers or 100)))
            likes, replies, reshares = (
                min(int((rng.paretovariate(1.2) - 1.0) * s * k), 10**6) for k in (2, 0.4, 0.5)
            )
            engagement = Engagement(
                likes=likes, replies=replies, reshares=reshares if p.source in _SHAREABLE else None
            )
        return Mention(
            id=f"{p.source}:{nid}",
            source=p.source,
            url=url,
            author=p.model,
            text=text,
            lang_declared=lang,
            created_at=created,
            fetched_at=created + timedelta(seconds=rng.uniform(0.5, 20.0)),
            reshare_of=reshare_of,
            reply_to=reply_to,
            engagement=engagement,
        )
