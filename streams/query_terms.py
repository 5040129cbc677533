"""Leaves of the query AST from what users wrote: bare terms, quoted phrases and field values.

Each check raises `QuerySyntaxError` with the exact character position, so an editor (or
`lint_query`) can point at the `*` or the language code that is wrong, not just at the term.
"""

from __future__ import annotations

import re

from lingua import IsoCode639_1

from streams.query_ast import SIGIL, SIGIL_BODY, FieldName, Term, TermKind, normalise, words_of

_LANG = re.compile(r"([a-z]{2,3})(?:-[a-z0-9]{1,8})*")
_HOST = re.compile(r"[^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)*")
_SIGIL_WORD = re.compile(r"([#@])(\w.*)", re.S)


class QuerySyntaxError(ValueError):
    """`position` is the 0-based character offset in the query; `expected` says what would fit there."""

    def __init__(self, message: str, position: int, expected: str) -> None:
        super().__init__(f"{message} at position {position}: expected {expected}")
        self.message = message
        self.position = position
        self.expected = expected


def term(raw: str, position: int) -> Term:
    if sigil := _SIGIL_WORD.fullmatch(raw):
        kind: TermKind = "hashtag" if sigil.group(1) == "#" else "handle"
        body = sigil.group(2)
        stem = normalise(body.removesuffix("*"))
        if not SIGIL_BODY.fullmatch(stem):
            expected = f"{raw[0]} followed by letters, digits or _ only, e.g. {raw[0]}acme"
            raise QuerySyntaxError(f"'{raw}' is not a {kind}", position, expected)
        at = list(range(position + 1, position + len(raw)))
        return _words_term(body, at, kind, position, [False] * len(body), (stem,))
    return _words_term(raw, list(range(position, position + len(raw))), "word", position, [False] * len(raw))


def unescape(content: str) -> str:
    return re.sub(r"\\(.)", r"\1", content, flags=re.S)


def phrase(content: str, position: int) -> Term:
    """A quoted phrase; a single quoted `#tag` or `@handle` stays a hashtag or handle."""
    text, literal, offsets = "", [], []
    i = 0
    while i < len(content):
        escaped = content[i] == "\\" and i + 1 < len(content)
        text += content[i + 1] if escaped else content[i]
        literal.append(escaped)
        offsets.append(position + 1 + i)
        i += 2 if escaped else 1
    stripped = text.strip()
    if not stripped:
        raise QuerySyntaxError("empty phrase", position, "words between the quotes")
    start = text.index(stripped)
    if _SIGIL_WORD.fullmatch(stripped) and not any(literal) and len(words_of(stripped)) == 1:
        return term(stripped, offsets[start])
    end = start + len(stripped)
    return _words_term(text[:end], offsets[:end], "word", position, literal[:end])


def _words_term(
    body: str, at: list[int], kind: TermKind, position: int, literal: list[bool], whole: tuple[str, ...] = ()
) -> Term:
    """`at[i]`: where body[i] is in the query; `literal[i]`: it was escaped, so a `*` is no wildcard;
    `whole`: the words when they are not split as text is (the body of a CJK hashtag is one)."""
    prefix = body.endswith("*") and not literal[-1]
    stem = body[:-1] if prefix else body
    if (star := next((i for i, c in enumerate(stem) if c == "*" and not literal[i]), None)) is not None:
        expected = "a * only at the end of a word, as in recall*"
        raise QuerySyntaxError("wildcard inside a term", at[star], expected)
    words = list(whole) or words_of(stem)
    if not words:
        expected = "words, a #hashtag or an @handle (emoji and punctuation are not searchable)"
        raise QuerySyntaxError(f"nothing to search in '{body}'", position, expected)
    if prefix and not words_of(stem[-1:]):
        expected = "a letter or digit right before *, as in recall*"
        raise QuerySyntaxError("wildcard after punctuation", at[len(stem)], expected)
    display = SIGIL[kind] + " ".join(normalise(body).split())
    return Term(kind, tuple(words), prefix, display, position)


def field_value(name: FieldName, raw: str, position: int) -> str:
    value = " ".join(normalise(raw).split())
    if "*" in value:
        raise QuerySyntaxError("wildcards are not supported in field values", position, f"a plain {name}")
    if name == "lang":
        value = value.replace("_", "-")
        code = _LANG.fullmatch(value)
        if code is None or (code.group(1) != "und" and not hasattr(IsoCode639_1, code.group(1).upper())):
            expected = "an ISO 639-1 code brandmon detects, e.g. en, de, da (or und: undetermined)"
            raise QuerySyntaxError(f"'{raw}' is not a language code", position, expected)
    elif name == "site":
        value = value.removeprefix("www.").rstrip(".")
        if not _HOST.fullmatch(value):
            expected = "a host like example.com (no scheme, path or port); subdomains match too"
            raise QuerySyntaxError(f"'{raw}' is not a host", position, expected)
    elif name == "author":
        value = value.lstrip("@")
    if not value:
        raise QuerySyntaxError(f"empty {name}: value", position, f"a {name}")
    return value
