"""Which configured brands a text mentions, by alias, on word boundaries.

A deliberately simple matcher: case-insensitive (NFKC + casefold), whole words only, so `apple`
does not match `pineapple`. Boolean brand queries replace it in a later version.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Protocol


class BrandAliases(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def aliases(self) -> list[str]: ...


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


class AliasMatcher:
    def __init__(self, brands: Iterable[BrandAliases]) -> None:
        self._brands_by_alias: dict[str, set[str]] = {}
        for brand in brands:
            for alias in brand.aliases:
                self._brands_by_alias.setdefault(normalise(alias.strip()), set()).add(brand.id)
        alternatives = sorted(self._brands_by_alias, key=len, reverse=True)
        pattern = "|".join(re.escape(alias) for alias in alternatives)
        self._pattern = re.compile(rf"(?<!\w)(?:{pattern})(?!\w)") if alternatives else None

    def match(self, text: str) -> dict[str, list[str]]:
        """Brand id -> the distinct aliases found (normalised), in order of first appearance."""
        if self._pattern is None:
            return {}
        found: dict[str, list[str]] = {}
        for hit in self._pattern.finditer(normalise(text)):
            term = hit.group(0)
            for brand_id in self._brands_by_alias[term]:
                terms = found.setdefault(brand_id, [])
                if term not in terms:
                    terms.append(term)
        return found
