"""German sentiment: brandmon's own lexicon with VADER's rules (`streams.lexicon_sentiment`) and shared emoji.

The lexicon, `streams/lexicons/brandmon-de.tsv`, was written for brandmon by its developers
(Apache-2.0, like the project; not derived from SentiWS, GerVADER or any other lexicon): common
German sentiment words and their inflected forms, weighted towards customer feedback and social
media (pünktlich, Verspätung, kaputt, freundlich, Frechheit, danke, ...). Its nouns are capitalised
and also count at the end of capitalised compounds ("Heizungsausfall", "Signalstörung").

Spelling: umlauts and ß may be written out, so "schoen", "Aerger", "grossartig" and "Strasse" score
as "schön", "Ärger", "großartig", "Straße" (the lexicon is extended at load time, costing nothing per
post). Dropped umlauts are not folded: "schon" (already) is not "schön", "schwul" is not "schwül".

Optional plugin: `GermanScorer(extra_lexicon=path)` merges a GerVADER lexicon file
(github.com/KarstenAMF/GerVADER, `GERVaderLexicon.txt`: word<TAB>mean<TAB>...) into ours, ours winning
where both rate a word. Licence caveat: GerVADER is MIT, but its lexicon is mostly derived from SentiWS,
which is CC BY-NC-SA 3.0 (non-commercial, share-alike). Whoever points brandmon at it must accept those
terms; brandmon never ships it and never loads it by default. On GermEval 2017 it lowers macro-F1
(it rates tens of thousands of words that are neutral in customer feedback): see `bench.sentiment_accuracy`.
"""

from __future__ import annotations

import hashlib
from importlib.resources import files
from pathlib import Path

import brandmon
from brandmon.schemas import Sentiment
from streams.emoji_valence import emoji_valences
from streams.lexicon_sentiment import LexiconRules, LexiconScorer, word_set

MODEL = "brandmon-lexicon-de"
LEXICON_FILE = "brandmon-de.tsv"
MIN_COMPOUND_HEAD = 5

NEGATORS = word_set(
    "nicht nich net ned kein keine keinen keinem keiner keines nie niemals nimmer nichts ohne weder "
    "niemand nirgends"
)
POST_NEGATORS = word_set("nicht nich net ned nie niemals")
"""German puts `nicht` after the finite verb: "das gefällt mir nicht", "klappt nie"."""
BOOSTERS = word_set(
    "sehr total extrem extremst absolut echt wirklich richtig voll ultra besonders äußerst äusserst höchst "
    "ziemlich so enorm unglaublich unheimlich verdammt tierisch wahnsinnig unfassbar völlig komplett "
    "vollkommen durchaus zutiefst derart dermaßen überaus ausgesprochen außerordentlich hochgradig "
    "viel weitaus deutlich mega"
)
DAMPENERS = word_set(
    "etwas bisschen bissl leicht kaum wenig einigermaßen halbwegs eher fast teilweise relativ "
    "ansatzweise beinahe mäßig"
)
CONTRAST = word_set("aber jedoch allerdings dennoch trotzdem sondern")
COURTESY = word_set("danke dankeschön merci") | {
    "danke schön", "danke sehr", "vielen dank", "herzlichen dank", "besten dank",
}  # fmt: skip
"""Thanks count only in posts with nothing negative: "Danke für die Info, Zug fällt wieder aus"."""
SUFFIXES = ("en", "em", "er", "es", "e")
"""Adjective endings, for forms the lexicon does not list."""
MIN_STEM = 4
"""Shorter stems are too often other words: "mager" is not "mag" + "er"."""
_SPELLED_OUT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def _read_tsv(text: str) -> dict[str, float]:
    """word<TAB>value[<TAB>...] lines; '#' comments and lines without a number are skipped."""
    entries: dict[str, float] = {}
    for line in text.splitlines():
        word, _, rest = line.partition("\t")
        if not word.strip() or word.startswith("#"):
            continue
        try:
            value = float(rest.split("\t", 1)[0])
        except ValueError:
            continue
        entries.setdefault(word.strip(), value)
    return entries


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:8]


def load_brandmon_de() -> dict[str, float]:
    """Our lexicon as written (nouns capitalised)."""
    return _read_tsv((files("streams") / "lexicons" / LEXICON_FILE).read_text(encoding="utf-8"))


def load_gervader(path: Path) -> tuple[dict[str, float], str]:
    """A GerVADER lexicon file (see the module docstring for its licence) and its id."""
    data = path.read_bytes()
    return _read_tsv(data.decode("utf-8")), f"gervader.{_digest(data)}"


def with_spelled_out(entries: dict[str, float]) -> dict[str, float]:
    """`entries` plus each word with ä/ö/ü/ß written ae/oe/ue/ss (and with only ß -> ss), unless listed."""
    extended = dict(entries)
    for word, value in entries.items():
        for variant in (word.translate(_SPELLED_OUT), word.replace("ß", "ss")):
            extended.setdefault(variant, value)
    return extended


def _spelled_out_words(words: frozenset[str]) -> frozenset[str]:
    return frozenset(with_spelled_out(dict.fromkeys(words, 0.0)))


def german_rules(extra_lexicon: Path | None = None) -> tuple[LexiconRules, str]:
    """The German rules and the lexicon's id for `model_version`."""
    written = load_brandmon_de()
    entries = with_spelled_out({word.lower(): value for word, value in written.items()})
    nouns = {word.lower() for word in written if word[:1].isupper() and " " not in word}
    heads = {
        word: value
        for word, value in with_spelled_out({w: entries[w] for w in nouns}).items()
        if len(word) >= MIN_COMPOUND_HEAD
    }
    lexicon_id = "brandmon-de"
    if extra_lexicon is not None:
        extra, extra_id = load_gervader(extra_lexicon)
        for word, value in extra.items():
            entries.setdefault(word.lower(), value)
        lexicon_id = f"{lexicon_id}+{extra_id}"
    rules = LexiconRules(
        lexicon=entries,
        negators=NEGATORS,
        post_negators=POST_NEGATORS,
        boosters=_spelled_out_words(BOOSTERS),  # "völlig" / "voellig", "dermaßen" / "dermassen"
        dampeners=_spelled_out_words(DAMPENERS),
        contrast=CONTRAST,
        courtesy=_spelled_out_words(COURTESY),
        emoji=emoji_valences(),
        compound_heads=heads,
        min_compound_head=MIN_COMPOUND_HEAD,
        suffixes=SUFFIXES,
        min_stem=MIN_STEM,
    )
    return rules, lexicon_id


class GermanScorer:
    """`score(text)` -> `Sentiment` labelled `brandmon-lexicon-de`, version
    `<brandmon version>+brandmon-de[+gervader.<file hash>].<hash of lexicon, emoji and rules>`."""

    def __init__(self, extra_lexicon: Path | None = None) -> None:
        rules, lexicon_id = german_rules(extra_lexicon)
        self.model_version = f"{brandmon.__version__}+{lexicon_id}.{rules.digest()}"
        self._scorer = LexiconScorer(rules, MODEL, self.model_version)

    def score(self, text: str) -> Sentiment:
        return self._scorer.score(text)

    def polarity_scores(self, text: str) -> dict[str, float]:
        return self._scorer.polarity_scores(text)
