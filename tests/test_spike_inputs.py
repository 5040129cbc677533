"""What a bucket learns from mentions: rumour signals, terms, distinct authors, samples."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brandmon.schemas import Author, Engagement, Mention, SamplePost, ScoredMention, Sentiment
from streams.buckets import CACHED_TEXT_CHARS, KEPT_POSTS, BucketStats, engagement_of, text_features
from streams.query_ast import normalise
from streams.rumour_signals import (
    CORRECTION_PATTERNS,
    CORRECTION_RULES,
    ENQUIRY_PATTERNS,
    ENQUIRY_RULES,
    Rule,
    _Search,
    rumour_signals,
    signals_of_normal,
)
from streams.terms import TermCounter, domain_of, extract_terms, own_words, site_of, stop_words

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
RUMOUR_RULES = ENQUIRY_RULES + CORRECTION_RULES


def scored(
    text: str,
    *,
    author: str = "anna",
    n: int = 0,
    likes: int = 0,
    reshare_of: str | None = None,
    source: str = "mastodon",
    compound: float | None = None,
) -> ScoredMention:
    sentiment = None
    if compound is not None:
        label = "negative" if compound <= -0.05 else "positive" if compound >= 0.05 else "neutral"
        sentiment = Sentiment(
            compound=compound, pos=0.0, neu=1.0, neg=0.0, label=label, model="t", model_version="1"
        )
    mention = Mention(
        id=f"{source}:{author}-{n}",
        source=source,
        author=Author(id=author, handle=f"@{author}"),
        text=text,
        created_at=T0 + timedelta(seconds=n),
        fetched_at=T0 + timedelta(seconds=n),
        reshare_of=reshare_of,
        engagement=Engagement(likes=likes),
    )
    return ScoredMention(
        mention=mention, brand="acme", matched_terms=["acme"], lang="en", sentiment=sentiment, scored_at=T0
    )


@pytest.mark.parametrize(
    ("text", "enquiry", "correction"),
    [
        ("Is it true that Acme is recalling its anvils?", True, False),
        ("Can anyone confirm the Acme recall??", True, False),
        ("Stimmt es, dass Acme einen Rückruf startet?", True, False),
        ("Das Gerücht über Acme: angeblich ein Datenleck", True, False),
        ("Passer det, at Acme har et datalæk?", True, False),
        ("Er det rigtigt med Acme?", True, False),
        ("Acme says the recall story is not true", False, True),
        ("Das stimmt nicht, sagt Acme", False, True),
        ("Det passer ikke, siger Acme", False, True),
        ("@acme source? any proof of this?", True, False),
        ("Can you confirm the Acme recall?", True, False),
        ("Acme liars, that's false", False, True),
        ("Acme donates to dementia research", False, False),
        ("Love my new Acme anvil", False, False),
        ("The rumba class at Acme was fun", False, False),
    ],
)
def test_rumour_signals_in_three_languages(text: str, enquiry: bool, correction: bool) -> None:
    signals = rumour_signals(text)
    assert (signals.enquiry, signals.correction) == (enquiry, correction)


@pytest.mark.parametrize("rule", RUMOUR_RULES, ids=lambda rule: rule.pattern)
def test_every_text_a_rumour_pattern_matches_contains_one_of_its_anchors(rule: Rule) -> None:
    """The anchors let posts skip the patterns; a pattern none of its anchors covers would lose
    signals. A `leading` pattern is only tried where one of its anchors begins."""
    compiled = re.compile(rf"\b(?:{rule.pattern})")

    @settings(max_examples=60, deadline=None)
    @given(st.from_regex(compiled))
    def check(text: str) -> None:
        assert compiled.search(text)
        assert any(anchor in text for anchor in rule.anchors), text
        if rule.leading:
            for start in range(len(text)):
                if compiled.match(text, start):
                    assert text.startswith(rule.anchors, start), text

    check()


def _combined(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(rf"\b(?:{p})" for p in patterns))


RUMOUR_PIECES = st.one_of(
    *(st.from_regex(rule.pattern.replace("\\b", ""), fullmatch=True) for rule in RUMOUR_RULES),
    st.sampled_from([a for rule in RUMOUR_RULES for a in rule.anchors]),
    st.from_regex(r"[a-zæøåü '?.\s-]{0,6}", fullmatch=True),
)


@settings(max_examples=3000, deadline=None)
@given(st.lists(RUMOUR_PIECES, max_size=14))
def test_rumour_signals_searched_near_anchors_equal_the_whole_patterns(pieces: list[str]) -> None:
    """Searching each pattern only near its anchors finds what searching all of them finds."""
    normal = normalise("".join(pieces))
    enquiry, correction = _combined(ENQUIRY_PATTERNS), _combined(CORRECTION_PATTERNS)
    signals = signals_of_normal(normal)
    assert signals.enquiry == (enquiry.search(normal) is not None)
    assert signals.correction == (correction.search(normal) is not None)


def test_a_match_resting_on_the_end_of_the_window_searched_near_an_anchor_is_checked() -> None:
    search = _Search(0, Rule(r"(a|b)\b", ("a", "b")))
    assert search.width == 1
    assert not search.near("abz", 0, 1), "`b` is followed by `z`, not by a word boundary"
    assert search.near("a bz", 0, 1)
    assert search.near("a/b", 0, 1)


def _urlsplit_domain(url: str) -> str | None:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.removeprefix("www.") if host else None


URL_PARTS = st.sampled_from(
    ["http", "HTTPS", "ftp", "https", " https", "", "://", "//", ":", "/", "?", "#", "@", "[", "]", "::1"]
)
HOST_PARTS = st.sampled_from(["www.", "WWW.", ".", "-", "Example", "com", "\t", "\n", "ø", "80", " "])


@settings(max_examples=2000, deadline=None)
@given(st.lists(URL_PARTS | HOST_PARTS, max_size=12).map("".join) | st.text(max_size=40))
def test_the_fast_domain_of_a_url_is_the_one_urlsplit_gives(url: str) -> None:
    assert domain_of(url) == _urlsplit_domain(url)
    assert domain_of("https://" + url) == _urlsplit_domain("https://" + url)


def test_terms_drop_stop_words_and_the_brand_and_keep_hashtags_domains_and_bigrams() -> None:
    text = "Is it true that Acme is recalling the oat milk? https://www.news.example/acme #AcmeRecall @acme"
    terms = extract_terms(text, exclude=["acme"])
    assert "site:news.example" in terms
    assert "#acmerecall" in terms
    assert "oat milk" in terms
    assert "recalling" in terms
    assert not {"is", "it", "the", "that", "acme", "@acme"} & set(terms)


def test_terms_in_german_and_danish_skip_their_stop_words() -> None:
    assert extract_terms("Acme hat einen Rückruf für die Hafermilch", exclude=["acme"]) == [
        "rückruf",
        "hafermilch",
    ]
    assert extract_terms("Acme har tilbagekaldt deres havremælk", exclude=["acme"]) == [
        "tilbagekaldt",
        "havremælk",
    ]
    assert "økologisk havremælk" in extract_terms("Acme sælger økologisk havremælk")


def _reference_terms(text: str, url: str | None, exclude: list[str]) -> list[str]:
    """`extract_terms` as first written: a regex pass each for links, handles, hashtags and
    sentences, then one for the words of each sentence. The fast version must equal it."""
    normal = normalise(text)
    terms: dict[str, None] = {}
    for link in re.findall(r"https?://[^\s<>\"')]+", normal, re.IGNORECASE):
        domain = domain_of(link)
        if domain:
            terms[f"site:{domain}"] = None
    own = domain_of(url) if url else None
    if own:
        terms[f"site:{own}"] = None
    prose = re.sub(r"(?<![\w@])@[\w.]+", " ", re.sub(r"https?://[^\s<>\"')]+", " ", normal, flags=re.I))
    for tag in re.findall(r"(?<![\w#])#(\w{2,60})", prose):
        terms[f"#{tag}"] = None
    stop, own_words = stop_words(), {normalise(word) for word in exclude}
    for sentence in re.split(r"[.!?;:,()\[\]\"“”]+|#\w+", prose):
        previous: str | None = None
        for word in re.findall(r"[^\W\d_][\w'\u2019-]*[^\W_]|[^\W\d_]", sentence):
            if len(word) < 3 or word in stop or word in own_words:
                previous = None
                continue
            terms[word] = None
            if previous is not None:
                terms[f"{previous} {word}"] = None
            previous = word
    return list(terms)


TRICKY_TEXTS = [
    "#AcmeRecall is trending! https://www.News.Example/acme?x=1 @acme_support",
    "www.example.com/recall has no scheme, nor example.org. HTTP://EXAMPLE.NET:8080/x",
    "Don't buy Acme's anvils — they\u2019re broken. It's not true! rock'n'roll O'Reilly's",
    "Acme の 新しい 製品 は 素晴らしい #アクメ 東京 中文测试 召回 #召回",
    "Straßenbahn-Haltestelle Kundenzufriedenheitsumfrage Rückrufaktion Acme-Produkte",
    "Ærlig talt, økologisk havremælk fra Acme er dårlig 🤮🤮 #øl #a #ab ##x a#b",
    "🔥 ACME 🔥 #\U0001d509\U0001d51e\U0001d528\U0001d522 \U0001d401\U0001d428\U0001d425\U0001d41d"
    " ﬁne Ⅻ ① ² ½ İstanbul ΣΊΣΥΦΟΣ ß ẞ ǅ the-the rt via amp",
    "user@example.com @acme.de.x @@double https://user:pw@host.example/ https://[::1]:80/x",
    'https://t.co/abc) (https://t.co/def) "https://q.example/a" <https://lt.example/> https://',
    "\uff21\uff23\uff2d\uff25\u3000\uff46\uff55\uff4c\uff4c\uff57\uff49\uff44\uff54\uff48\u3000"
    "\uff03\uff54\uff41\uff47\u3000"
    "\uff48\uff54\uff54\uff50\uff53\uff1a\uff0f\uff0f\uff45\uff58\uff0e\uff43\uff4f\uff4d"
    " 3d 42nd x2y _x x_ -x x- ...",
    "#" + "x" * 70 + " 𠀀𠀁 word 𠀂",
]
TEXT_PIECES = st.sampled_from(
    [*TRICKY_TEXTS, "acme", "Acme's", "the", "recall", "Straße", "#", "@", "://", "http://", "https://a.b/c",
     ".", ",", "“", "”", "'", "\u2019", "-", "_", " ", "\n", "3", "ab", "é", "🔥", "中", "#acme", "x@y"]
)  # fmt: skip
URLS = st.sampled_from(
    [None, "", "https://www.x.com/a", "HTTP://Blog.Example:8080/p", "https://[::1]/x", "weird"]
)
EXCLUDES = st.sampled_from([[], ["acme"], ["ACME", "the"], ["Acme's"], ["x y"], ["straße", "Recall"]])


@settings(max_examples=1500, deadline=None)
@given(st.lists(TEXT_PIECES | st.text(max_size=8), max_size=12).map("".join), URLS, EXCLUDES)
def test_terms_are_those_of_a_regex_pass_per_kind_of_term(
    text: str, url: str | None, exclude: list[str]
) -> None:
    """One tokenizer pass, stop words dropped once per text and the brand's words after give the
    terms, in the order, that a regex pass per kind of term gave."""
    assert extract_terms(text, url, exclude) == _reference_terms(text, url, exclude)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(TRICKY_TEXTS) | st.lists(TEXT_PIECES, max_size=8).map("".join), min_size=1, max_size=6
    ),
    st.lists(st.tuples(st.integers(0, 5), URLS, EXCLUDES), max_size=20),
)
def test_cached_text_features_give_the_uncached_terms_and_signals(
    texts: list[str], uses: list[tuple[int, str | None, list[str]]]
) -> None:
    """A text read once and asked again, for other brands and URLs, in any order."""
    for index, url, exclude in uses:
        text = texts[index % len(texts)]
        features = text_features(text)
        assert (features is text_features(text)) == (len(text) <= CACHED_TEXT_CHARS)
        own = own_words(tuple(exclude))
        assert list(features.terms.terms(site_of(url), own)) == _reference_terms(text, url, exclude)
        assert features.signals == rumour_signals(text)
    assert text_features("x" * (CACHED_TEXT_CHARS + 1)) is not text_features("x" * (CACHED_TEXT_CHARS + 1))


def test_term_counter_stays_bounded_and_survives_serialisation() -> None:
    counter = TermCounter()
    for i in range(20_000):
        counter.add(["recall"] if i % 4 == 0 else [f"noise{i}"])
    restored = TermCounter.from_bytes(counter.to_bytes())
    assert restored.top(1)[0][0] == "recall"
    assert restored.top(1)[0][1] >= 5_000
    assert restored.total == 20_000
    assert len(counter.to_bytes()) < 64_000


def test_bucket_counts_authors_not_posts_so_a_spammer_is_one_author() -> None:
    bucket = BucketStats(start=T0.timestamp())
    for n in range(500):
        bucket.add(scored("Acme recall! Buy my stuff", author="spammer", n=n))
    bucket.add(scored("Is it true that Acme recalls anvils?", author="anna", n=1000))
    assert bucket.mentions == 501
    assert bucket.unique_authors == 2
    assert bucket.enquiries == 1


def test_bucket_shares_and_sentiment() -> None:
    bucket = BucketStats(start=T0.timestamp())
    bucket.add(scored("Acme is awful", author="a", compound=-0.6))
    bucket.add(scored("Acme is great", author="b", compound=0.6, source="bluesky"))
    bucket.add(scored("Acme is great", author="c", reshare_of="bluesky:b-0", source="bluesky"))
    assert (bucket.scored, bucket.negative, bucket.reshares) == (2, 1, 1)
    assert bucket.sources == {"mastodon": 1, "bluesky": 2}
    assert bucket.compound_sum == pytest.approx(0.0)


def test_samples_are_most_engaged_first_one_per_author_and_no_reshares() -> None:
    bucket = BucketStats(start=T0.timestamp())
    for n in range(40):
        bucket.add(scored(f"Acme post {n}", author=f"user{n % 16}", n=n, likes=n))
    bucket.add(scored("Acme reshared", author="user99", n=99, likes=1000, reshare_of="mastodon:user1-1"))
    authors = [s.author for s in bucket.samples]
    assert len(bucket.samples) == KEPT_POSTS
    assert len(set(authors)) == KEPT_POSTS
    assert [s.engagement for s in bucket.samples] == list(range(39, 39 - KEPT_POSTS, -1))
    assert "@user99" not in authors


def _reference_keep(samples: list[SamplePost], record: ScoredMention) -> list[SamplePost]:
    """The samples as first kept: filter, append and sort the whole list again per post."""
    mention = record.mention
    engagement = engagement_of(record)
    if mention.reshare_of is not None or (
        len(samples) >= KEPT_POSTS and engagement <= samples[-1].engagement
    ):
        return samples
    author = mention.author.handle or mention.author.id or mention.id
    same = [s for s in samples if s.author == author]
    if same and same[0].engagement >= engagement:
        return samples
    sample = SamplePost(
        id=mention.id,
        author=author,
        source=mention.source,
        url=mention.url,
        text=mention.text[:280],
        engagement=engagement,
        lang=record.lang,
        created_at=mention.created_at,
    )
    kept = [s for s in samples if s.author != author] + [sample]
    kept.sort(key=lambda s: (-s.engagement, s.created_at))
    return kept[:KEPT_POSTS]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 20), st.integers(0, 4), st.integers(0, 3), st.booleans()), max_size=80)
)
def test_samples_inserted_in_order_are_those_a_sort_per_post_keeps(
    posts: list[tuple[int, int, int, bool]],
) -> None:
    """Ties in engagement and time included: the new post goes after the equal ones."""
    bucket = BucketStats(start=T0.timestamp())
    expected: list[SamplePost] = []
    for author, likes, second, reshare in posts:
        record = scored(
            "Acme", author=f"u{author}", n=second, likes=likes, reshare_of="mastodon:x-1" if reshare else None
        )
        bucket.add(record)
        expected = _reference_keep(expected, record)
        assert bucket.samples == expected


def test_bucket_round_trips_through_json() -> None:
    bucket = BucketStats(start=T0.timestamp())
    bucket.add(scored("Is it true? Acme #recall https://x.example/a", author="a", compound=-0.4, likes=3))
    bucket.add(scored("Acme fine", author="b", n=1))
    restored = BucketStats.from_json(orjson.loads(orjson.dumps(bucket.to_json())))
    assert restored.terms.top(5) == bucket.terms.top(5)
    assert {**restored.to_json(), "terms": None} == {**bucket.to_json(), "terms": None}
