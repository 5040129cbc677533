"""Posts per second of `QueryMatcher` against the naive way (one regex per term, per query, per
post) and against the matcher before its fast paths; and the demo config on the simulated stream.

Run: `python -m bench.query_matching` (10,000 queries, 200,000 posts; `--queries/--posts` scale down).

Both matchers get the same generated brand queries (phrases, hashtags, handles, wildcards,
NOT, NEAR/ONEAR, fields) and the same generated posts (mixed case, punctuation and emoji
around names, CamelCase hashtags, handles, links, umlauts, æøå and CJK, three languages). The
naive matcher (`bench.query_reference.RegexMatcher`, also the tests' reference) would take hours
on the full set, so it runs for at most `--naive-budget` seconds (60) on a prefix of the posts and
its rate is extrapolated (and says so). Both must find the same matches on that prefix.

`bench.query_reference.PreviousMatcher` is `QueryMatcher` before the fast paths of issue 8 (ASCII
text, the per-text cache, OR-of-terms queries, a word and its #/@ form); it runs on all posts, and
on `--simulated` mentions of `bench.corpus.simulated` with the demo config's brand queries (what
the stream worker matches), where `QueryMatcher` runs with and without its text cache (the
simulator repeats texts the way reshares do; the generated posts never repeat). Times are CPU
time (`time.process_time`); the simulated runs take the best of 3. All must match the same.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.corpus import simulated
from bench.query_reference import PreviousMatcher, RegexMatcher
from brandmon.config import load_config
from streams.query_match import PostFields, QueryMatcher

DEMO_CONFIG = Path(__file__).resolve().parents[1] / "brandmon" / "demo.yaml"


def _words(text: str) -> list[str]:
    return text.split()


SYLLABLES = _words("ka lo mi zu ve tor ak ro ni bel sa qu ex fi dor an ul by ge wa øl bær mü hof")
FILLER = {
    "en": _words("the a new great really love hate my store today price launch recall outage app is and"),
    "de": _words("der die das neue wirklich liebe hasse mein laden heute preis rückruf störung und ist"),
    "da": _words("den det ny rigtig elsker hader min butik i dag pris tilbagekaldelse nedbrud og er"),
}
CONTEXT = ["recall", "outage", "price", "launch", "rückruf", "tilbagekaldelse", "kundeservice"]
SOURCES = ["twitter", "mastodon", "reddit", "rss", "bluesky"]


@dataclass(frozen=True)
class Brand:
    id: str
    name: str

    @property
    def camel(self) -> str:
        return "".join(part.capitalize() for part in self.name.split())


def brands(count: int, rng: random.Random) -> list[Brand]:
    names: dict[str, None] = {}
    while len(names) < count:
        name = "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 3, 3, 4))))
        names[name + (" " + rng.choice(SYLLABLES) + "co" if rng.random() < 0.2 else "")] = None
    return [Brand(f"b{i}", name) for i, name in enumerate(names)]


def brand_query(brand: Brand, other: Brand, rng: random.Random) -> str:
    name, first, tag = brand.name, brand.name.split()[0], brand.camel
    context = " OR ".join(rng.sample(CONTEXT, 2))
    return rng.choice(
        [
            f'"{name}" OR #{tag} OR @{tag.lower()}inc OR "{name} corp"',
            f'("{name}" OR #{tag}) AND NOT ("{other.name}" OR "wile e") AND lang:(en OR de)',
            f'"{name}" NEAR/3 ({context})',
            f'{context.split()[0]} ONEAR/2 "{name}"',
            f"{first}* AND ({context}) AND NOT site:{other.camel.lower()}.com",
            f'(#{tag} OR "{name}") AND (source:{rng.choice(SOURCES)} OR author:@{first}fan)',
            f'"{name} {rng.choice(CONTEXT)}" OR #{tag}{rng.choice(CONTEXT).capitalize()}',
        ]
    )


def mention(brand: Brand, rng: random.Random) -> str:
    name = brand.name
    return rng.choice(
        [
            name,
            name.upper(),
            name.title(),
            f"#{brand.camel}",
            f"#{brand.camel}{rng.choice(CONTEXT).title()}",
            f"@{brand.camel.lower()}inc",
            f"🔥{name}🔥",
            f"({name})",
            f"{name}'s",
            f"{name}, {rng.choice(CONTEXT)}",
            f"https://{brand.camel.lower()}.com/{rng.choice(CONTEXT)}",
            f"{name}的新产品",
            f"{name} corp",
            f"{name}_fans",
            f"{name}{rng.choice(SYLLABLES)}",
        ]
    )


def posts(count: int, pool: Sequence[Brand], rng: random.Random) -> list[PostFields]:
    result = []
    for _ in range(count):
        lang = rng.choice(list(FILLER))
        words = [rng.choice(FILLER[lang]) for _ in range(rng.randint(6, 24))]
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            words.insert(rng.randrange(len(words) + 1), mention(rng.choice(pool), rng))
        words.insert(rng.randrange(len(words) + 1), rng.choice(CONTEXT) + rng.choice(("", ",", "!", " 😡")))
        site = rng.choice(pool).camel.lower()
        result.append(
            PostFields(
                " ".join(words),
                lang=rng.choice((lang, lang, None)),
                source=rng.choice(SOURCES),
                author=rng.choice(("@" + rng.choice(pool).name.split()[0] + "fan", "someone")),
                url=f"https://{rng.choice(('', 'www.', 'shop.'))}{site}.com/p/{rng.randrange(1000)}",
            )
        )
    return result


def workload(queries: int, count: int, seed: int = 7) -> tuple[list[tuple[str, str]], list[PostFields]]:
    rng = random.Random(seed)
    pool = brands(queries, rng)
    generated = [(b.id, brand_query(b, rng.choice(pool), rng)) for b in pool]
    return generated, posts(count, pool, rng)


def _timed(
    match: Callable[[PostFields], dict[str, list[str]]], posts: list[PostFields]
) -> tuple[float, list[dict[str, list[str]]]]:
    """CPU seconds per post, and the matches."""
    started = time.process_time()
    found = [match(post) for post in posts]
    return (time.process_time() - started) / len(posts), found


def simulated_stream(count: int) -> None:
    """The demo config's queries on `count` simulated mentions: previous matcher vs QueryMatcher."""
    queries = [(brand.id, brand.effective_query) for brand in load_config(DEMO_CONFIG).brands]
    posts = [
        PostFields(m.text, m.lang_declared, m.source, m.author.handle or m.author.id, m.url)
        for m in simulated(count, DEMO_CONFIG)
    ]
    mean = sum(len(post.text) for post in posts) / len(posts)
    distinct = len({post.text for post in posts})
    print(
        f"\nDemo config ({len(queries)} brand queries) on {len(posts):,} simulated mentions"
        f" (mean {mean:.0f} chars, {distinct:,} distinct texts), CPU per post, best of 3:"
    )
    variants: list[tuple[str, Callable[[], Callable[[PostFields], dict[str, list[str]]]]]] = [
        ("previous matcher", lambda: PreviousMatcher(queries).match),
        ("QueryMatcher, no cache", lambda: QueryMatcher(queries, cache_size=0).match),
        ("QueryMatcher", lambda: QueryMatcher(queries).match),
    ]
    baseline, expected = 0.0, None
    for name, make in variants:
        runs = [_timed(make(), posts) for _ in range(3)]  # a fresh matcher (empty cache) per run
        best, found = min(runs, key=lambda run: run[0])
        if expected is None:
            baseline, expected = best, found
        same = "same matches" if found == expected else "DIFFERENT MATCHES"
        print(f"  {name:24s} {best * 1e6:7.2f} us  ({baseline / best:4.1f}x, {same})")
        if found != expected:
            raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=200_000)
    parser.add_argument("--naive-budget", type=float, default=60.0, help="seconds the naive loop may take")
    parser.add_argument("--simulated", type=int, default=20_000, help="simulated mentions (0: skip)")
    args = parser.parse_args()
    queries, generated = workload(args.queries, args.posts)
    mean = sum(len(p.text) for p in generated) / len(generated)
    print(f"{len(queries):,} brand queries, {len(generated):,} posts (mean {mean:.0f} chars)")
    started = time.process_time()
    matcher = QueryMatcher(queries)
    print(
        f"QueryMatcher built in {time.process_time() - started:.2f} s ({len(matcher.terms):,} distinct terms)"
    )
    per_post, fast = _timed(matcher.match, generated)
    matched = sum(len(found) for found in fast)
    print(
        f"QueryMatcher:      {1 / per_post:12,.0f} posts/s  {per_post * 1e6:6.1f} us/post"
        f" ({matched:,} brand matches)"
    )
    previous_per_post, previous = _timed(PreviousMatcher(queries).match, generated)
    print(
        f"previous matcher:  {1 / previous_per_post:12,.0f} posts/s  {previous_per_post * 1e6:6.1f} us/post"
        f" ({previous_per_post / per_post:.2f}x QueryMatcher's time, same matches:"
        f" {'yes' if previous == fast else 'NO'})"
    )
    naive = RegexMatcher(queries)
    naive_found: list[dict[str, list[str]]] = []
    started = time.process_time()
    for post in generated:
        naive_found.append(naive.match(post))
        if time.process_time() - started > args.naive_budget:
            break
    subset = len(naive_found)
    naive_rate = subset / (time.process_time() - started)
    note = ""
    if subset < len(generated):
        note = (
            f"  (timed on the first {subset:,} posts: all {len(generated):,} would take"
            f" ~{len(generated) / naive_rate / 3600:,.1f} h)"
        )
    print(f"naive regex loop:  {naive_rate:12,.1f} posts/s{note}")
    print(f"ratio:             {1 / per_post / naive_rate:12,.0f}x")
    differing = [i for i in range(subset) if fast[i] != naive_found[i]]
    print(f"same matches on the {subset:,} posts both ran: {'yes' if not differing else 'NO'}")
    for i in differing[:5]:
        print(f"  {generated[i]}\n    QueryMatcher {fast[i]}\n    naive        {naive_found[i]}")
    if differing or previous != fast:
        raise SystemExit(1)
    if args.simulated:
        simulated_stream(args.simulated)


if __name__ == "__main__":
    main()
