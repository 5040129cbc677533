"""Which language a mention is written in: `en`, `de`, `da`, another ISO 639-1 code, or `und`.

lingua-language-detector is the judge, restricted to the configured languages plus close
neighbours (so Norwegian or Swedish is not forced into Danish, nor Dutch into German; a language
far from all of them ends up `und`). It costs about 100 us for a post and 200 us for a long text
(most of that a fixed cost per call, so cutting texts shorter saves little), more than all other
scoring, so cheaper evidence goes first and lingua only sees what that leaves open. In order:

1. Text with fewer than three words (URLs, handles and hashtags removed) is `und`.
2. A bounded LRU cache of decisions (`CACHE_SIZE`), keyed by the words the decision uses (the
   first `DETECT_CHARS` characters, casefolded) and the declared language: reshares, quotes and
   bots repeat texts, and the decision depends on nothing else, so a hit changes no answer.
3. A clear winner by function words (lists for the configured languages and the neighbours,
   closed-class words only): a configured language with at least three of them that beats every
   other language on the words the two do not share, by at least two and twice the other's count.
   Counting only unshared words is what lets some Danish be settled without lingua: `og er det
   ikke` is Norwegian as much as Danish, `af hvad noget` is not.
4. The declared language, when it is configured and the text does not contradict it: at least
   one of its function words, no other language with a function word it lacks, no letter it does
   not use (æ ø å; ä ö ü), and two of its words when a neighbour shares all of them (a lone `is`
   is Dutch too, a lone `og` Norwegian). A wrong declaration (Mastodon's default `en` on a German
   post) is mostly outvoted in step 3 or contradicted by the text's own words and left to lingua.
5. lingua; below `MIN_CONFIDENCE` for its top language the text is `und` rather than a guess.

`und` then falls back to the declared language if it is a configured one.

`python -m bench.language_accuracy` measures accuracy, the share reaching lingua and CPU time per
language and declared situation (correct, missing, wrong), against lingua alone and the previous
rules. On its labelled sets, with the declaration correct, 2-25% of texts reach lingua (before:
9-72%), with accuracy at or above the previous rules'; on the simulated stream 2.7% of mentions do
(before: 63%), most of the saving from the cache (35% without it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

if TYPE_CHECKING:
    from functools import _CacheInfo

UNDETERMINED = "und"
DEFAULT_LANGUAGES = ("en", "de", "da")
NEIGHBOURS = ("sv", "nb", "nl")
"""Detected too, so text in them is named correctly instead of being read as a configured one."""
MIN_WORDS = 3
MIN_CONFIDENCE = 0.5
"""lingua's share for its top language; French text, absent from the candidates, scores ~0.49 as English."""
DETECT_CHARS = 200
"""lingua's cost grows with length while a post's language does not change: look at its start."""
CLEAR_HITS = 3
"""Function words a language needs to win without a declaration: with two, short English gained
~2 points but more French, Spanish, Portuguese and Polish messages were read as a configured
language (the gettext catalogues of bench.language_accuracy, measured while choosing)."""
CACHE_SIZE = 50_000
"""Decisions kept. A key is at most DETECT_CHARS characters: about 16 MiB when full with keys of
~100 (bench.language_accuracy measures it)."""

_FUNCTION_WORDS: dict[str, str] = {
    "en": "the and is are was were be been am this that these those with for not no you your it its of to "
    "in on at by from as an or if but so my me we our us they them their he she his her him have has "
    "had do does did just what why how when where who which there here can will would could should "
    "about all some any more very only also than then out up into over after",
    "de": "der die das den dem des und ist sind war waren bin bist hat haben hatte nicht ich du er sie es "
    "wir ihr ein eine einen einem einer mit für auf zu von bei nach aus an im in am um über auch also "
    "noch aber wie was wer wo warum schon mein meine dein sich mich mir dich dir uns kein keine nur "
    "sehr so dass oder wenn doch mal nein ja jetzt hier da wird werden will kann können muss immer "
    "wieder",
    "da": "og er det den de ikke jeg en et med til på af som har vi at for så men hvad mig min mit mine "
    "også nu kan der her hvor hvis fra om var være blev have havde ham hun han hende sig dig du jer "
    "os vores deres eller meget noget nogle nogen skal vil kun efter ved over under mod alle bare da "
    "når jo nej ja op to dem dit",
    "sv": "och är det den de inte jag en ett med till på av som har vi att för så men vad mig min mitt mina "
    "också nu kan där här var om från eller mycket något några ska vill bara efter vid över under mot "
    "alla när ja nej hon han henne sig dig du oss vår deras blev vara hade jo dem",
    "nb": "og er det den de ikke jeg en et ei med til på av som har vi at for så men hva meg min mitt mine "
    "også nå kan der her hvor hvis fra om var være ble ham hun han henne seg deg du dere oss vår "
    "deres eller mye meget noe noen skal vil kun etter ved over under mot alle bare da når jo nei ja "
    "to dem ditt",
    "nl": "de het een en is zijn was van in op te dat die niet ik je jij we wij ze hij zij met voor aan er "
    "maar om als ook bij nog wel geen naar dan wat hoe waar wie dit deze mijn ons hebben heeft heb "
    "kan zal worden wordt door uit over of",
}
"""Closed-class words, each listed under every language that uses it (`in`: en de nl)."""
_LETTERS: dict[str, tuple[str, ...]] = {
    "æ": ("da", "nb"),
    "ø": ("da", "nb"),
    "å": ("da", "nb", "sv"),
    "ä": ("de", "sv"),
    "ö": ("de", "sv"),
    "ü": ("de",),
}
"""Letters only some of the worded languages use (ß is casefolded to ss before it is seen)."""
_NOISE = re.compile(r"https?://\S+|www\.\S+|[@#]\w+")
_WORD = re.compile(r"[^\W\d_]{2,}")


def primary_subtag(tag: str | None) -> str | None:
    """`de-AT` -> `de`; None for an empty or malformed tag."""
    if not tag:
        return None
    return tag.split("-")[0].split("_")[0].lower() or None


def lingua_language(code: str) -> Language:
    """The lingua language for an ISO 639-1 code; ValueError naming the code if there is none."""
    try:
        return Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
    except (AttributeError, ValueError):
        raise ValueError(f"{code!r} is not an ISO 639-1 code lingua can detect") from None


def detection_words(text: str) -> list[str]:
    """The words a decision is made on: the text's start without URLs, handles and hashtags, casefolded."""
    start = _NOISE.sub(" ", text[: DETECT_CHARS * 4])[:DETECT_CHARS]
    return _WORD.findall(start.casefold())


class LanguageIdentifier:
    """`detect(text, declared)`; `cache_size=0` decides every text afresh (benches)."""

    def __init__(self, languages: Sequence[str] = DEFAULT_LANGUAGES, *, cache_size: int = CACHE_SIZE) -> None:
        self.languages = tuple(languages)
        self._detectable = tuple(dict.fromkeys([*self.languages, *NEIGHBOURS]))
        for code in self._detectable:
            lingua_language(code)
        self.lingua_calls = 0
        """Texts that reached lingua (cache hits not counted): for benches and profiles."""
        self._bit = {lang: 1 << i for i, lang in enumerate(_FUNCTION_WORDS)}
        self._configured = {lang for lang in self.languages if lang in self._bit}
        self._word_mask: dict[str, int] = {}
        for lang, words in _FUNCTION_WORDS.items():
            for word in words.split():
                self._word_mask[word] = self._word_mask.get(word, 0) | self._bit[lang]
        self._mask_languages = {
            mask: tuple(lang for lang, bit in self._bit.items() if mask & bit)
            for mask in set(self._word_mask.values())
        }
        self._letter_mask = {
            letter: sum(self._bit[lang] for lang in langs) for letter, langs in _LETTERS.items()
        }
        self._decide: Callable[[str, str | None], str] = (
            lru_cache(maxsize=cache_size)(self._decide_afresh) if cache_size > 0 else self._decide_afresh
        )

    @cached_property
    def _detector(self) -> LanguageDetector:
        """Built on first use: loading the models takes a while and memory."""
        return LanguageDetectorBuilder.from_languages(*(lingua_language(c) for c in self._detectable)).build()

    def detect(self, text: str, declared: str | None = None) -> str:
        declared_primary = primary_subtag(declared)
        hint = declared_primary if declared_primary in self.languages else None
        words = detection_words(text)
        detected = self._decide(" ".join(words), hint) if len(words) >= MIN_WORDS else UNDETERMINED
        if detected == UNDETERMINED and hint is not None:
            return hint
        return detected

    def cache_info(self) -> _CacheInfo | None:
        """Hits, misses and size of the decision cache; None without one."""
        info: Callable[[], _CacheInfo] | None = getattr(self._decide, "cache_info", None)
        return info() if info is not None else None

    def _decide_afresh(self, words: str, hint: str | None) -> str:
        """The language of `words` (detection_words joined by spaces, at least MIN_WORDS)."""
        decided = self._by_evidence(words, hint)
        if decided is not None:
            return decided
        self.lingua_calls += 1
        top = self._detector.compute_language_confidence_values(words)[0]
        return top.language.iso_code_639_1.name.lower() if top.value >= MIN_CONFIDENCE else UNDETERMINED

    def _by_evidence(self, words: str, hint: str | None) -> str | None:
        """Steps 3 and 4 of the module docstring: a language, or None for lingua to decide."""
        # Function words counted by the set of languages having them (a bit mask): few sets a text.
        groups: dict[int, int] = {}
        for word in words.split(" "):
            if mask := self._word_mask.get(word):
                groups[mask] = groups.get(mask, 0) + 1
        hits: dict[str, int] = {}
        for mask, n in groups.items():
            for lang in self._mask_languages[mask]:
                hits[lang] = hits.get(lang, 0) + n
        if not hits:
            return None
        best = max(hits, key=hits.__getitem__)
        shared = self._shared(best, groups) if best in self._configured and hits[best] >= CLEAR_HITS else None
        if shared is not None and _outweighs(best, hits, shared):
            return best
        if hint is None or hint not in hits:
            return None
        if shared is None or hint != best:
            shared = self._shared(hint, groups)
        return hint if self._consistent(hint, hits, shared, words) else None

    def _shared(self, lang: str, groups: dict[int, int]) -> dict[str, int]:
        """Per language, how many of the words `lang` has it has too."""
        bit, shared = self._bit[lang], dict[str, int]()
        for mask, n in groups.items():
            if mask & bit:
                for other in self._mask_languages[mask]:
                    shared[other] = shared.get(other, 0) + n
        return shared

    def _consistent(self, hint: str, hits: dict[str, int], shared: dict[str, int], words: str) -> bool:
        """No word or letter the declared language lacks; not a lone word shared with a neighbour."""
        for other, n in hits.items():
            if n > shared.get(other, 0):
                return False  # a function word the declared language does not have
            if hits[hint] < 2 and other not in self._configured and n == hits[hint]:
                return False  # one word, shared with a neighbour: no evidence between the two
        return not any(
            letter in words and not mask & self._bit[hint] for letter, mask in self._letter_mask.items()
        )


def _outweighs(best: str, hits: dict[str, int], shared: dict[str, int]) -> bool:
    """`best` has, against every other language, 2+ words that one lacks and twice as many as it has."""
    for other, n in hits.items():
        both = shared.get(other, 0)
        own, theirs = hits[best] - both, n - both
        if other != best and (own < 2 or own < 2 * theirs):
            return False
    return True
