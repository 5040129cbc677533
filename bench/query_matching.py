"""Posts per second of `QueryMatcher` against the naive way: one regex per term, per query, per post.

Run: `python -m bench.query_matching` (10,000 queries, 200,000 posts; `--queries/--posts` scale down).

Both matchers get the same generated brand queries (phrases, hashtags, handles, wildcards,
NOT, NEAR/ONEAR, fields) and the same generated posts (mixed case, punctuation and emoji
around names, CamelCase hashtags, handles, links, umlauts, æøå and CJK, three languages). The
naive matcher (`bench.query_reference.RegexMatcher`, also the tests' reference) would take hours
on the full set, so it runs for at most `--naive-budget` seconds (60) on a prefix of the posts and
its rate is extrapolated (and says so). Both must find the same matches on that prefix.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bench.query_reference import RegexMatcher
from streams.query_match import PostFields, QueryMatcher


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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=200_000)
    parser.add_argument("--naive-budget", type=float, default=60.0, help="seconds the naive loop may take")
    args = parser.parse_args()
    queries, generated = workload(args.queries, args.posts)
    mean = sum(len(p.text) for p in generated) / len(generated)
    print(f"{len(queries):,} brand queries, {len(generated):,} posts (mean {mean:.0f} chars)")
    started = time.perf_counter()
    matcher = QueryMatcher(queries)
    print(
        f"QueryMatcher built in {time.perf_counter() - started:.2f} s ({len(matcher.terms):,} distinct terms)"
    )
    started = time.perf_counter()
    fast = [matcher.match(post) for post in generated]
    fast_rate = len(generated) / (time.perf_counter() - started)
    matched = sum(len(found) for found in fast)
    print(f"QueryMatcher:      {fast_rate:12,.0f} posts/s  ({matched:,} brand matches)")
    naive = RegexMatcher(queries)
    naive_found: list[dict[str, list[str]]] = []
    started = time.perf_counter()
    for post in generated:
        naive_found.append(naive.match(post))
        if time.perf_counter() - started > args.naive_budget:
            break
    subset = len(naive_found)
    naive_rate = subset / (time.perf_counter() - started)
    note = ""
    if subset < len(generated):
        note = (
            f"  (timed on the first {subset:,} posts: all {len(generated):,} would take"
            f" ~{len(generated) / naive_rate / 3600:,.1f} h)"
        )
    print(f"naive regex loop:  {naive_rate:12,.1f} posts/s{note}")
    print(f"ratio:             {fast_rate / naive_rate:12,.0f}x")
    differing = [i for i in range(subset) if fast[i] != naive_found[i]]
    print(f"same matches on the {subset:,} posts both ran: {'yes' if not differing else 'NO'}")
    for i in differing[:5]:
        print(f"  {generated[i]}\n    QueryMatcher {fast[i]}\n    naive        {naive_found[i]}")
    if differing:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
