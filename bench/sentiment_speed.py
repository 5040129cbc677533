"""Speed of brandmon's English sentiment against vaderSentiment's (same numbers), and the largest messages.

Run: `python -m bench.sentiment_speed` (`--posts N`, `--seed S`).

In one process, on the same seeded texts:
1. realistic posts (`realistic_posts`: short social posts, brands, emoji, hashtags, links, boosters,
   negations, "but"; no duplicates): mentions/s of vaderSentiment's `polarity_scores`, of
   `ExactVader.polarity_scores`, of the English scorer before this change (vaderSentiment plus a
   `Sentiment`) and of `SentimentScorer.score(text, "en")` without its text cache; ratios are against
   vaderSentiment. Interleaved rounds, best round counts (`bench.sentiment_accuracy.posts_per_second`),
   so ExactVader's token memo is warm; one more line shows its first pass with an empty memo;
2. streams with repeats: those posts with 15% reshares of one of the 300 latest (the simulator's
   reshare model), and the English texts of `connectors.simulator` mentions (its templates repeat,
   so far more than 15% are duplicates): one pass of a fresh scorer before, without and with the
   text cache (so its token memo starts empty too);
3. hostile 256 KiB messages of several kinds (`hostile_texts`) through `SentimentScorer.score` for
   en, de and da, in ms (best of 3; too long for the cache), and, for contrast, the largest size of
   some kinds that vaderSentiment scores within `--vader-budget` seconds.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from functools import partial

from vaderSentiment.vaderSentiment import BOOSTER_DICT, NEGATE, SentimentIntensityAnalyzer

from bench.corpus import simulated
from bench.sentiment_accuracy import posts_per_second
from bench.worker_throughput import DEMO_CONFIG
from brandmon.schemas import MAX_MESSAGE_BYTES, Sentiment
from streams.sentiment import VADER_MODEL, VADER_VERSION, SentimentScorer, label_for
from streams.vader_exact import ExactVader


def _words(text: str) -> list[str]:
    return text.split()


FILLER = _words(
    "the a my our their this that it is was were are be have has had i we you they he she and or to of "
    "for on at in with from app store order coffee scooter ride today yesterday again still just only "
    "new old price staff support delivery service update week time people card account battery queue "
    "city morning tonight after before about because when why how what there here"
)
BRANDS = ("Brewbird", "@brewbirdcoffee", "#brewbird", "Voltride", "#voltride", "Trundl", "ElRoller")
EMOJI = _words("😡 👎 😤 🙄 😍 🔥 👍 ❤️ 🎉 🤔 🙏 ☕ 🛴 📦 👀 😂 😭 💔 🤷")
RULE_WORDS = _words(
    "not very kind of no least never so without doubt the shit nicht sehr kein ikke meget ingen good gut bad"
)
ENDINGS = (".", ".", ".", "!", "?", "!!", "...", "", " 🙃", "!!!", "??")


def realistic_posts(count: int, seed: int = 7) -> list[str]:
    """Distinct short posts: mostly everyday words, about one VADER lexicon word in eight."""
    rng = random.Random(seed)
    lexicon = sorted(SentimentIntensityAnalyzer().lexicon)
    common = [w for w in lexicon if w.isalpha() and len(w) <= 7]
    boosters = sorted(b for b in BOOSTER_DICT if " " not in b)
    posts: dict[str, None] = {}
    while len(posts) < count:
        sentences = []
        for _ in range(rng.choice((1, 1, 2, 2, 3))):
            words = []
            for _ in range(rng.randint(4, 16)):
                r = rng.random()
                pool = (
                    FILLER if r < 0.72 else common if r < 0.84 else boosters if r < 0.88
                    else NEGATE if r < 0.91 else ("but",) if r < 0.93 else BRANDS if r < 0.97 else EMOJI
                )  # fmt: skip
                word = rng.choice(pool)
                words.append(word.upper() if rng.random() < 0.03 else word)
            if rng.random() < 0.1:
                link = f"https://example.com/p/{rng.randrange(10**6)}"
                words.append(rng.choice((link, "#fail", "#love")))
            sentences.append(" ".join(words).capitalize() + rng.choice(ENDINGS))
        posts[" ".join(sentences)] = None
    return list(posts)


def with_reshares(posts: Sequence[str], share: float = 0.15, recent: int = 300, seed: int = 7) -> list[str]:
    """`posts` in order, with reshares of the `recent` latest inserted so that `share` of all are reshares."""
    rng, latest, stream = random.Random(seed), deque[str](maxlen=recent), []
    for post in posts:
        while latest and rng.random() < share:
            stream.append(rng.choice(latest))
        stream.append(post)
        latest.append(post)
    return stream


def _fill(pieces: Iterator[str], max_bytes: int) -> str:
    parts, size = [], 0
    for piece in pieces:
        size += len(piece.encode())
        if size > max_bytes:
            break
        parts.append(piece)
    return "".join(parts)


def hostile_texts(max_bytes: int = MAX_MESSAGE_BYTES, seed: int = 7) -> dict[str, str]:
    """Messages of at most `max_bytes` (UTF-8) built to find slow paths, in English, German and Danish."""
    rng = random.Random(seed)
    analyzer = SentimentIntensityAnalyzer()
    emoji = sorted(k for k in analyzer.emojis if len(k) == 1)
    lexicon = sorted(analyzer.lexicon)

    def endless(choices: Sequence[str], after: Sequence[str] = ("",)) -> Iterator[str]:
        while True:
            yield rng.choice(choices) + rng.choice(after)

    kinds: dict[str, Iterator[str]] = {
        "emoji": endless(emoji, ("", "", " ", "x", "\ufe0f", "!")),
        "one giant token": endless(("gut", "good", "god")),
        "giant punctuation token": endless(("!", "?", ".", ",", ":)", "-", "'")),
        "repeated word": endless(("good ", "gut ", "god ")),
        "but repeated": endless(("good but ", "bad but ", "but ", "gut aber ", "Aber ", "god men ", "men ")),
        "all caps": endless(("GOOD ", "bad ", "GUT ", "schlecht ", "GOD ", "dårlig ", "VERY ", "SEHR ")),
        "!!!! and ???? runs": endless(("great!!!! ", "toll!!!! ", "flot!!!! ", "???? ", "!?!? ")),
        "negations, boosters, idioms": endless(
            [*RULE_WORDS, "at least", "sort of", "bad ass", "nicht gut", "ikke god"], (" ",)
        ),
        "distinct lexicon words, but": endless(lexicon, (" ", " ", " ", " but ", " aber ", " men ")),
        "sentences opened by a contrast": endless(("Aber gut. ", "Men god. ", "But good. ", "Nicht gut. ")),
        "zero-width and bidi": endless(
            ("gut\u200b", "\u202egood ", "\u2066god\u2069 ", "\u200d", "bad\u200e ")
        ),
        "mixed symbols": endless(
            ("😀", "a", " ", "!", "'", "-", ".", "Ä", "ß", "\u0301", "\u200b", "Ü", "å")
        ),
    }
    return {name: _fill(pieces, max_bytes) for name, pieces in kinds.items()}


def best_ms(score: Callable[[str], object], text: str, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        score(text)
        best = min(best, time.perf_counter() - start)
    return 1000 * best


def vader_sentiment(vader: SentimentIntensityAnalyzer) -> Callable[[str], Sentiment]:
    """The English scorer before `streams.vader_exact`: vaderSentiment, then a `Sentiment`."""

    def score(text: str) -> Sentiment:
        s = vader.polarity_scores(text)
        compound = s["compound"]
        pos, neu, neg, label = s["pos"], s["neu"], s["neg"], label_for(compound)
        return Sentiment(compound=compound, pos=pos, neu=neu, neg=neg, label=label, model=VADER_MODEL,
                         model_version=VADER_VERSION)  # fmt: skip

    return score


def stream_rates(
    stream: Sequence[str], vader: SentimentIntensityAnalyzer, rounds: int = 3
) -> dict[str, float]:
    """Mentions/s of one pass over `stream`, each scorer built fresh (empty caches and token memo) per
    round; interleaved rounds, best round counts."""
    makers: dict[str, Callable[[], Callable[[str], object]]] = {
        "before": lambda: vader_sentiment(vader),
        "no cache": lambda: partial(SentimentScorer(cache_texts=0).score, lang="en"),
        "cache": lambda: partial(SentimentScorer().score, lang="en"),
    }
    best = dict.fromkeys(makers, 0.0)
    for _ in range(rounds):
        for name, make in makers.items():
            score, start = make(), time.perf_counter()
            for text in stream:
                score(text)
            best[name] = max(best[name], len(stream) / (time.perf_counter() - start))
    return best


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--vader-budget", type=float, default=3.0, help="seconds for a vaderSentiment call")
    args = parser.parse_args(argv)
    vader, exact = SentimentIntensityAnalyzer(), ExactVader()
    uncached = SentimentScorer(cache_texts=0)
    posts = realistic_posts(args.posts, args.seed)
    mean = sum(map(len, posts)) / len(posts)
    print(f"1. {len(posts):,} distinct realistic posts, mean {mean:.0f} chars, no cache; x vaderSentiment")
    rates = posts_per_second(
        {
            "vaderSentiment polarity_scores": vader.polarity_scores,
            "ExactVader polarity_scores": exact.polarity_scores,
            "before: vaderSentiment + Sentiment": vader_sentiment(vader),
            "SentimentScorer.score en, no cache": lambda text: uncached.score(text, "en"),
        },
        posts,
    )
    cold, start = ExactVader(), time.perf_counter()
    for post in posts:
        cold.polarity_scores(post)
    rates["ExactVader, one pass, empty token memo"] = len(posts) / (time.perf_counter() - start)
    vader_rate = rates["vaderSentiment polarity_scores"]
    for name, rate in rates.items():
        print(f"  {name:<40} {rate:10,.0f} mentions/s  {rate / vader_rate:5.2f}x")

    print("\n2. One pass over a stream with repeats, every scorer fresh (x the scorer before)")
    simulator = [m.text for m in simulated(40_000, DEMO_CONFIG) if m.lang_declared == "en"]
    for name, stream in (
        ("realistic posts, 15% reshares", with_reshares(posts, seed=args.seed)),
        ("simulator English mentions", simulator),
    ):
        repeats = 1 - len(set(stream)) / len(stream)
        per_s = stream_rates(stream, vader)
        print(f"  {name:<30} n={len(stream):<6} repeats {repeats:4.0%}: before {per_s['before']:8,.0f}/s, "
              f"no cache {per_s['no cache']:8,.0f}/s ({per_s['no cache'] / per_s['before']:4.2f}x), "
              f"cache {per_s['cache']:8,.0f}/s ({per_s['cache'] / per_s['before']:4.2f}x)")  # fmt: skip

    print(f"\n3. Hostile {MAX_MESSAGE_BYTES // 1024} KiB messages (UTF-8) through SentimentScorer.score, ms")
    scorer = SentimentScorer()
    for lang in ("de", "da"):
        scorer.score("warm-up", lang)
    hostile = hostile_texts(seed=args.seed)
    for name, text in hostile.items():
        times = [best_ms(partial(scorer.score, lang=lang), text) for lang in ("en", "de", "da")]
        print(
            f"  {name:<32} {len(text):7,} chars  en {times[0]:6.1f}  de {times[1]:6.1f}  da {times[2]:6.1f}"
        )
    budget = args.vader_budget
    print(f"  vaderSentiment for contrast: the largest size (doubling from 1 KiB) done within {budget:.0f} s")
    for name in ("repeated word", "emoji", "distinct lexicon words, but", "all caps"):
        size, done = 1024, None
        while size <= MAX_MESSAGE_BYTES:
            text = hostile_texts(size, seed=args.seed)[name]
            elapsed = best_ms(vader.polarity_scores, text, repeat=1)
            done = (size, elapsed, best_ms(exact.polarity_scores, text))
            if elapsed > 1000 * budget / 4:  # the next size takes about 4x as long
                break
            size *= 2
        assert done is not None
        size, vader_ms, ours_ms = done
        print(
            f"    {name:<30} {size // 1024:4} KiB: vaderSentiment {vader_ms:8.1f} ms, ours {ours_ms:6.1f} ms"
        )


if __name__ == "__main__":
    main()
