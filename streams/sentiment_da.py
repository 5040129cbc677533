"""Danish sentiment: AFINN-da with VADER's rules (`streams.lexicon_sentiment`) and the shared emoji table.

The lexicon is AFINN-da 32 by Finn Årup Nielsen (github.com/fnielsen/afinn, Apache-2.0), shipped
unchanged as `streams/lexicons/afinn-da-32.txt` with its licence `streams/lexicons/AFINN-LICENSE.txt`,
plus `streams/lexicons/brandmon-da.tsv`, a small supplement written for brandmon (Apache-2.0) with
words AFINN-da does not rate ("skøn", "træls", "forsinkelse", "overpriset", ...). AFINN rates words
-5..+5; they are scaled by 0.8 to VADER's -4..+4 so compounds compare across languages. Words are
matched as written: "dårlig", "glæde", "søde" (no ASCII spellings such as "daarlig").
"""

from __future__ import annotations

from importlib.resources import files

import brandmon
from brandmon.schemas import Sentiment
from streams.emoji_valence import AFINN_TO_VADER, emoji_valences
from streams.lexicon_sentiment import LexiconRules, LexiconScorer, word_set

MODEL = "brandmon-lexicon-da"
LEXICON_FILE = "afinn-da-32.txt"
SUPPLEMENT_FILE = "brandmon-da.tsv"
LEXICON_ID = "afinn-da-32+brandmon-da"

NEGATORS = word_set("ikke ik ikk ingen intet aldrig uden hverken ej ingenting")
POST_NEGATORS = word_set("ikke ik ikk aldrig")
"""Danish puts `ikke` after the finite verb: "jeg elsker det ikke"."""
BOOSTERS = word_set(
    "meget mega rigtig rigtigt helt virkelig virkeligt ekstremt ekstrem utrolig utroligt totalt "
    "fuldstændig fuldstændigt vildt særdeles yderst enormt aldeles ualmindelig ualmindeligt "
    "sindssygt hamrende voldsomt specielt især absolut dybt så"
)
DAMPENERS = word_set("lidt lettere nogenlunde delvis delvist næsten knap knapt ret temmelig mindre")
CONTRAST = word_set("men dog alligevel derimod imidlertid")
COURTESY = word_set("tak takker") | {"tusind tak", "mange tak"}
"""Thanks count only in posts with nothing negative: "tak for ingenting", "tak, toget er forsinket igen"."""
SUFFIXES = ("e", "t")
"""Adjective agreement endings AFINN-da does not always list: "gode" -> "god", "flotte" -> "flot"."""


def read_afinn(name: str) -> dict[str, float]:
    """An AFINN-format file in `streams/lexicons` as word -> valence on VADER's scale."""
    lexicon: dict[str, float] = {}
    for line in (files("streams") / "lexicons" / name).read_text(encoding="utf-8").splitlines():
        word, _, value = line.rpartition("\t")
        if word and not word.startswith("#") and value.strip():
            lexicon[word.lower()] = int(value) * AFINN_TO_VADER
    return lexicon


def danish_rules() -> LexiconRules:
    lexicon = read_afinn(LEXICON_FILE)
    for word, value in read_afinn(SUPPLEMENT_FILE).items():
        lexicon.setdefault(word, value)  # AFINN-da wins where both rate a word
    return LexiconRules(
        lexicon=lexicon,
        negators=NEGATORS,
        post_negators=POST_NEGATORS,
        boosters=BOOSTERS,
        dampeners=DAMPENERS,
        contrast=CONTRAST,
        courtesy=COURTESY,
        emoji=emoji_valences(),
        suffixes=SUFFIXES,
    )


class DanishScorer:
    """`score(text)` -> `Sentiment` labelled `brandmon-lexicon-da`, version
    `<brandmon version>+afinn-da-32+brandmon-da.<hash of lexicons, emoji and rules>`."""

    def __init__(self) -> None:
        rules = danish_rules()
        self.model_version = f"{brandmon.__version__}+{LEXICON_ID}.{rules.digest()}"
        self._scorer = LexiconScorer(rules, MODEL, self.model_version)

    def score(self, text: str) -> Sentiment:
        return self._scorer.score(text)

    def polarity_scores(self, text: str) -> dict[str, float]:
        return self._scorer.polarity_scores(text)
