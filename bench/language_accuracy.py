"""Accuracy and cost of language detection (streams.language) on labelled text, and its cost on
the simulated stream. Run: `python -m bench.language_accuracy` (`--datasets DIR` or
BRANDMON_DATASETS=DIR; `--sample N` texts per set, default 1200; about a minute on one core).

Datasets are read in place from ../shared/datasets, sampled with a fixed seed; an absent one is
skipped with a message. Labels are the dataset's language:
- en: vader-reviews (Amazon, movie, NYT snippets); en-social: RumourEval 2017 tweets and replies
  (the set is English; a few replies are in other languages and count as errors for everyone);
- de: GermEval 2017 dev (Deutsche Bahn feedback, web and tweets); da: LCC Danish sentences (all
  rows, sentiment-annotated or not);
- each set again as `.../6w`: the same texts cut to their first 6 words, since posts are short.

Each text is scored three times per method, as a platform would declare it: declared correct,
missing, and wrong (`en` on German or Danish text, as Mastodon does by default; `de` on English).
Methods: `lingua alone` (the same cut text, no shortcuts: what lingua by itself answers),
`before` (streams/language.py as of commit 3479d2e, copied below as PreviousRules), and `now`
(LanguageIdentifier without its cache, which cannot change an answer; checked below). Columns:
share correct, `und`, wrong (another language), share of texts that reached lingua, CPU us/text.

Then, if the system's gettext catalogues are present (/usr/share/locale; translated UI strings,
not posts), neighbour languages (nb sv nl: correct = that code) and far ones (fr es it pt pl:
correct = not read as a configured language), declared missing, `en`, or a close configured one.

Last, the simulator corpus (bench.corpus.simulated, 20000 mentions of brandmon/demo.yaml, its
own declared languages; truth from the template each text came from): accuracy, lingua share and
CPU us per mention for each method, `now` with and without the cache; the cache's memory when full.
"""

from __future__ import annotations

import argparse
import csv
import gettext
import json
import random
import re
import struct
import time
import tracemalloc
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from lingua import LanguageDetector, LanguageDetectorBuilder

from bench.corpus import simulated
from bench.datasets import REPO, find_datasets
from bench.sentiment_accuracy import germeval, vader_reviews
from streams.language import (
    CACHE_SIZE,
    DEFAULT_LANGUAGES,
    DETECT_CHARS,
    MIN_CONFIDENCE,
    MIN_WORDS,
    NEIGHBOURS,
    UNDETERMINED,
    LanguageIdentifier,
    detection_words,
    lingua_language,
    primary_subtag,
)

SEED = 8
WRONG = {"en": "de", "de": "en", "da": "en"}
"""The declaration a platform gets wrong for each language."""
SITUATIONS = ("correct", "missing", "wrong")
FAR = ("fr", "es", "it", "pt", "pl")


class Detector(Protocol):
    lingua_calls: int

    def detect(self, text: str, declared: str | None = None) -> str: ...


def _top(detector: LanguageDetector, words: str) -> str:
    top = detector.compute_language_confidence_values(words)[0]
    return top.language.iso_code_639_1.name.lower() if top.value >= MIN_CONFIDENCE else UNDETERMINED


class LinguaAlone:
    """The detector without shortcuts: every text of MIN_WORDS words or more goes to lingua."""

    def __init__(self, detector: LanguageDetector, languages: Sequence[str] = DEFAULT_LANGUAGES) -> None:
        self.detector, self.languages, self.lingua_calls = detector, tuple(languages), 0

    def detect(self, text: str, declared: str | None = None) -> str:
        """The language of `text`: `_decide` on its words if it has MIN_WORDS or more; where that
        gives `und` or is not asked, the declared language if it is one of `languages`."""
        hint = primary_subtag(declared)
        hint = hint if hint in self.languages else None
        words = detection_words(text)
        detected = UNDETERMINED
        if len(words) >= MIN_WORDS:
            detected = self._decide(words, hint)
        return hint if detected == UNDETERMINED and hint is not None else detected

    def _decide(self, words: list[str], hint: str | None) -> str:
        """The language of `words` (`hint`: the declared one, if configured): lingua's answer."""
        self.lingua_calls += 1
        return _top(self.detector, " ".join(words))


_PREVIOUS_WORDS = {
    "en": "the and is are was were this that with for not you it of to in my have has but just what "
    "why how they we be so at on",
    "de": "der die das und ist nicht ich ein eine mit für auf es sind wir sie zu von den dem auch "
    "noch aber wie was schon mein meine",
    "da": "og er det den ikke jeg en et med til på af som har vi de at for så men hvad mig min også nu kan",
    "sv": "och är det inte jag en ett med till på av som har vi de att för så men vad mig min också nu kan",
    "nb": "og er det ikke jeg en et med til på av som har vi de å for så men hva meg min også nå kan",
}


class PreviousRules(LinguaAlone):
    """streams/language.py at commit 3479d2e: a clear winner (3+ function words, twice the
    runner-up), else the declared language if it has 2+ function words and none has more, else lingua."""

    def __init__(self, detector: LanguageDetector, languages: Sequence[str] = DEFAULT_LANGUAGES) -> None:
        super().__init__(detector, languages)
        self.word_languages: dict[str, tuple[str, ...]] = {}
        for lang, words in _PREVIOUS_WORDS.items():
            for word in words.split():
                self.word_languages[word] = (*self.word_languages.get(word, ()), lang)

    def _decide(self, words: list[str], hint: str | None) -> str:
        hits: dict[str, int] = {}
        for word in words:
            for lang in self.word_languages.get(word, ()):
                hits[lang] = hits.get(lang, 0) + 1
        if hits:
            ranked = sorted(hits.items(), key=lambda item: item[1], reverse=True)
            best, best_hits = ranked[0]
            runner_up = ranked[1][1] if len(ranked) > 1 else 0
            if best in self.languages and best_hits >= 3 and best_hits >= 2 * runner_up:
                return best
            if hint is not None and hits.get(hint, 0) >= 2 and hits[hint] >= max(hits.values()):
                return hint
        return super()._decide(words, hint)


@dataclass
class Score:
    correct: int = 0
    undetermined: int = 0
    wrong: int = 0
    lingua: int = 0
    cpu: float = 0.0
    n: int = 0

    def line(self, cost_width: int = 8) -> str:
        n = max(self.n, 1)
        return (
            f"{self.correct / n:8.4f} {self.undetermined / n:7.4f} {self.wrong / n:7.4f} "
            f"{self.lingua / n:7.3f} {self.cpu / n * 1e6:{cost_width}.1f}"
        )


def score(
    method: Detector, items: Sequence[tuple[str, str | None]], is_correct: Callable[[str, int], bool]
) -> tuple[Score, list[str]]:
    """`items`: (text, declared); `is_correct(answer, index)`."""
    method.lingua_calls = 0
    start = time.process_time()
    answers = [method.detect(text, declared) for text, declared in items]
    result = Score(cpu=time.process_time() - start, lingua=method.lingua_calls, n=len(items))
    for i, answer in enumerate(answers):
        if is_correct(answer, i):
            result.correct += 1
        elif answer == UNDETERMINED:
            result.undetermined += 1
        else:
            result.wrong += 1
    return result, answers


HEADER = "  " + " ".join(
    f"{title:{width}}"
    for title, width in (("set", "<14"), ("declared", "<9"), ("method", "<13"), ("correct", ">8"),
                         ("und", ">7"), ("wrong", ">7"), ("lingua", ">7"), ("us/text", ">8"))
)  # fmt: skip


def labelled_sets(root: Path, sample: int) -> dict[str, tuple[str, list[str]]]:
    """name -> (language, texts), each sampled with SEED; `/6w` variants added by the caller."""
    rng = random.Random(SEED)
    sets: dict[str, tuple[str, list[str]]] = {}

    def add(name: str, lang: str, texts: Iterable[str]) -> None:
        pool = sorted({t for t in texts if t.strip()})
        sets[name] = (lang, rng.sample(pool, min(sample, len(pool))))

    reviews = vader_reviews(root)
    if reviews is not None:
        add("en", "en", (text for rows in reviews.values() for text, _ in rows))
    posts = sorted((root / "rumoureval2017").glob("*/posts.json"))
    if posts:
        add("en-social", "en", (p["text"] for path in posts for p in json.loads(path.read_text()).values()))
    else:
        print(f"  [skip] rumoureval2017: {root / 'rumoureval2017'} has no posts.json")
    german = germeval(root)
    if german is not None:
        add("de", "de", (text for text, _ in german))
    danish_files = sorted((root / "sentiment-da-lcc").glob("*.csv"))
    if danish_files:
        add("da", "da", _lcc_sentences(danish_files))
    else:
        print(f"  [skip] sentiment-da-lcc: {root / 'sentiment-da-lcc'} not found")
    return sets


def _lcc_sentences(paths: Sequence[Path]) -> list[str]:
    """Every sentence of the LCC files (number,valence,text), annotated or not: all are Danish."""
    texts: list[str] = []
    for path in paths:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            next(reader, None)
            texts.extend(record[2] for record in reader if len(record) >= 3)
    return texts


def labelled_section(methods: dict[str, Detector], sets: dict[str, tuple[str, list[str]]]) -> None:
    print("\nLabelled text: share correct / und / wrong, share reaching lingua, CPU us per text")
    print(HEADER)
    for name, (lang, texts) in sets.items():

        def is_correct(answer: str, _i: int, lang: str = lang) -> bool:
            return answer == lang

        for variant, chosen in (
            (name, texts),
            (f"{name}/6w", [" ".join(detection_words(t)[:6]) for t in texts]),
        ):
            declared_by = {"correct": lang, "missing": None, "wrong": WRONG[lang]}
            for situation in SITUATIONS:
                items = [(t, declared_by[situation]) for t in chosen]
                for method_name, method in methods.items():
                    result, _ = score(method, items, is_correct)
                    print(f"  {variant:<14} {situation:<9} {method_name:<13} {result.line()}")
        print()


_PLACEHOLDER = re.compile(
    r"%[-#0 +']*\d*(?:\.\d+)?[hlLqjzt]*[a-zA-Z%]|%\([^)]*\)[a-z]|\{[^}]*\}|[_&](?=\w)|<[^>]+>"
)


def catalogue(lang: str, sample: int, locale_dir: Path = Path("/usr/share/locale")) -> list[str]:
    """Translated messages of 5+ words in the system's gettext catalogues for `lang`, placeholders out."""
    texts: set[str] = set()
    for path in sorted((locale_dir / lang / "LC_MESSAGES").glob("*.mo")):
        if path.name.startswith("iso_"):  # names of countries and languages, not sentences
            continue
        try:
            with path.open("rb") as handle:
                messages: dict[object, object] = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
        except (OSError, ValueError, struct.error):  # not a catalogue this Python can read
            continue
        for key, value in messages.items():
            source = key[0] if isinstance(key, tuple) else key
            if not source or not isinstance(value, str) or value == source:
                continue
            cleaned = " ".join(_PLACEHOLDER.sub(" ", value).split())
            if len(cleaned.split()) >= 5:
                texts.add(cleaned)
    return random.Random(SEED).sample(sorted(texts), min(sample, len(texts)))


def catalogue_section(methods: dict[str, Detector], sample: int) -> None:
    print("\nNeighbour and far languages (system gettext catalogues: UI strings, not posts)")
    print("  nb sv nl: correct = that code; fr es it pt pl: correct = not read as en, de or da")
    print(HEADER)
    configured = set(DEFAULT_LANGUAGES)
    for lang in (*NEIGHBOURS, *FAR):
        texts = catalogue(lang, sample)
        if not texts:
            print(f"  [skip] {lang}: no catalogues under /usr/share/locale/{lang}")
            continue
        close = {"nb": "da", "sv": "da", "nl": "de"}.get(lang)
        for declared in (None, "en", *([close] if close else [])):
            items = [(t, declared) for t in texts]

            def is_correct(answer: str, _i: int, lang: str = lang) -> bool:
                return answer == lang if lang in NEIGHBOURS else answer not in configured

            for method_name, method in methods.items():
                result, _ = score(method, items, is_correct)
                situation = "missing" if declared is None else declared
                print(f"  {lang:<14} {situation:<9} {method_name:<13} {result.line()}")
        print()


def simulator_truth(texts: Sequence[str]) -> list[str | None]:
    """The language of the simulator template each text was made from (None if no single one)."""
    from connectors.simulator import _TEMPLATES  # the simulator's own texts: its ground truth

    patterns: list[tuple[re.Pattern[str], str]] = []
    for (lang, _kind), templates in _TEMPLATES.items():
        for template in templates:
            body = re.escape(template)
            for slot in ("b", "a", "c"):
                body = body.replace(re.escape("{" + slot + "}"), ".+?")
            patterns.append((re.compile(body + r"( \S+)?"), lang))
    truth: list[str | None] = []
    for text in texts:
        langs = {lang for pattern, lang in patterns if pattern.fullmatch(text)}
        truth.append(langs.pop() if len(langs) == 1 else None)
    return truth


def simulator_section(detector: LanguageDetector, count: int) -> None:
    mentions = simulated(count, REPO / "brandmon" / "demo.yaml")
    items = [(m.text, m.lang_declared) for m in mentions]
    truth = simulator_truth([m.text for m in mentions])
    known = sum(t is not None for t in truth)
    print(f"\nSimulator corpus: {len(items)} mentions in stream order (truth from the templates: {known})")
    print(f"  {'method':<24} {'correct':>8} {'und':>7} {'wrong':>7} {'lingua':>7} {'us/mention':>10}")
    runs: list[tuple[str, Detector]] = [
        ("lingua alone", LinguaAlone(detector)),
        ("before (3479d2e)", PreviousRules(detector)),
        ("now, no cache", LanguageIdentifier(cache_size=0)),
        (f"now, cache {CACHE_SIZE}", LanguageIdentifier()),
    ]
    for _, method in runs[2:]:
        method.detect("warm the models: the lingua detector is built on first use")
    answers: dict[str, list[str]] = {}
    cpu: dict[str, float] = {}
    for name, method in runs:
        result, answers[name] = score(method, items, lambda answer, i: answer == truth[i])
        cpu[name] = result.cpu
        cache = method.cache_info() if isinstance(method, LanguageIdentifier) else None
        hits = f"   cache hits {cache.hits / len(items):.3f}" if cache is not None else ""
        print(f"  {name:<24} {result.line(10)}{hits}")
    before = cpu["before (3479d2e)"]
    for name in (n for n, _ in runs[2:]):
        print(f"  {name}: {before / cpu[name]:.1f}x less CPU than before")
    same = sum(a == b for a, b in zip(answers["now, no cache"], answers[runs[3][0]], strict=True))
    print(f"  cached answers equal uncached ones: {same}/{len(items)}")


def cache_memory(texts: Sequence[str]) -> None:
    """Memory of a full cache with keys as long as `texts` give (the same lru_cache, a trivial function)."""
    keys = [" ".join(detection_words(t)) for t in texts]
    keys = [k for k in keys if len(k.split()) >= MIN_WORDS] or ["a b c"]
    mean = sum(map(len, keys)) / len(keys)

    @lru_cache(maxsize=CACHE_SIZE)
    def decide(words: str, hint: str | None) -> str:
        return "en"

    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(CACHE_SIZE):
        decide(f"{keys[i % len(keys)]}{i}"[-DETECT_CHARS:], "en")
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    print(f"  cache memory when full: {used / 2**20:.1f} MiB for {CACHE_SIZE} keys of ~{mean:.0f} characters")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--datasets", type=Path, default=None)
    parser.add_argument("--sample", type=int, default=1200, help="texts per labelled set")
    parser.add_argument("--catalogue-sample", type=int, default=500, help="texts per gettext language")
    parser.add_argument("--mentions", type=int, default=20000)
    args = parser.parse_args()
    total = time.process_time()
    detector = LanguageDetectorBuilder.from_languages(
        *(lingua_language(c) for c in dict.fromkeys([*DEFAULT_LANGUAGES, *NEIGHBOURS]))
    ).build()
    detector.compute_language_confidence_values("load the language models before timing anything")
    methods: dict[str, Detector] = {
        "lingua alone": LinguaAlone(detector),
        "before": PreviousRules(detector),
        "now": LanguageIdentifier(cache_size=0),
    }
    root = find_datasets(args.datasets)
    sets = labelled_sets(root, args.sample) if root is not None else {}
    if root is None:
        print("  [skip] labelled text: no datasets folder (--datasets or BRANDMON_DATASETS)")
    labelled_section(methods, sets)
    catalogue_section(methods, args.catalogue_sample)
    simulator_section(detector, args.mentions)
    cache_memory([t for _, texts in sets.values() for t in texts] or ["the cache key of a short post"])
    print(f"\n(total CPU {time.process_time() - total:.0f} s)")


if __name__ == "__main__":
    main()
