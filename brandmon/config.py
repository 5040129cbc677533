"""The brand and source YAML file (`BRANDMON_CONFIG`, default `brandmon.yaml`), validated with pydantic.

Every problem is reported as `file:line: field.path: message -> fix: ...`, all at once, so a
config can be repaired in one pass. See `brandmon/demo.yaml` for a complete example.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from lingua import IsoCode639_1
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from streams.query_lint import lint_query
from streams.query_match import query_from_aliases

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"
"""Brand ids, competitor groups and source names: used as Kafka keys and Prometheus labels."""

Loc = tuple[str | int, ...]
Ident = Annotated[str, Field(pattern=ID_PATTERN)]
Alias = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BrandConfig(_Frozen):
    id: Ident
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    aliases: list[Alias] = Field(
        default_factory=list,
        min_length=1,
        description="Names people use; matched as phrases when there is no query.",
    )
    query: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)] | None
    ) = Field(default=None, description="Boolean brand query (see README, 'Brand queries').")
    competitors: Ident | None = None

    @property
    def effective_query(self) -> str:
        """The query the matcher runs: `query`, or the aliases as quoted phrases OR-ed together."""
        return self.query if self.query is not None else query_from_aliases(self.aliases)


class SourceConfig(_Frozen):
    kind: Literal["simulator", "rss", "mastodon", "bluesky", "hackernews", "reddit", "webhook", "replay"]
    name: Ident
    options: dict[str, Any] = Field(default_factory=dict)


class BrandmonConfig(_Frozen):
    brands: list[BrandConfig] = Field(min_length=1)
    sources: list[SourceConfig] = Field(default_factory=list)
    languages: list[str] = Field(
        default_factory=lambda: ["en", "de", "da"],
        min_length=1,
        description="ISO 639-1 codes detected and reported; sentiment exists for en, de and da.",
    )

    def competitor_groups(self) -> dict[str, list[str]]:
        """Brand ids per competitor group, in config order (groups live here, not in metric labels)."""
        groups: dict[str, list[str]] = {}
        for brand in self.brands:
            if brand.competitors is not None:
                groups.setdefault(brand.competitors, []).append(brand.id)
        return groups

    @model_validator(mode="after")
    def _cross_check(self) -> BrandmonConfig:
        found: list[tuple[Loc, str, str]] = []
        for field, key, items in (("brands", "id", self.brands), ("sources", "name", self.sources)):
            first: dict[str, int] = {}
            for i, item in enumerate(items):
                value = getattr(item, key)
                if value in first:
                    msg = f"{value!r} is already used by {field}[{first[value]}]"
                    found.append(((field, i, key), msg, f"give each entry of {field} a unique {key}"))
                first.setdefault(value, i)
        for i, brand in enumerate(self.brands):
            found += _query_problems(i, brand)
        for i, code in enumerate(self.languages):
            if not hasattr(IsoCode639_1, code.upper()) or code != code.lower():
                fix = "use a lower-case ISO 639-1 code such as 'en', 'de', 'da', 'sv'"
                found.append((("languages", i), f"{code!r} is not a language brandmon can detect", fix))
        groups: dict[str, list[int]] = {}
        for i, brand in enumerate(self.brands):
            if brand.competitors is not None:
                groups.setdefault(brand.competitors, []).append(i)
        for group, members in groups.items():
            if len(members) == 1:
                others = [g for g in groups if g != group]
                close = difflib.get_close_matches(group, others, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                only = self.brands[members[0]].id
                msg = f"competitor group {group!r} has only one brand ({only!r})"
                fix = f"{hint}add another brand to {group!r} or remove 'competitors' from {only!r}"
                found.append((("brands", members[0], "competitors"), msg, fix))
        if found:
            summary = "; ".join(f"{_dotted(loc)}: {msg}" for loc, msg, _ in found)
            raise PydanticCustomError("config_conflict", "{summary}", {"summary": summary, "found": found})
        return self


def _query_problems(index: int, brand: BrandConfig) -> list[tuple[Loc, str, str]]:
    if brand.query is None and not brand.aliases:
        fix = "add 'query:' (a boolean brand query) or 'aliases:' (a list of names)"
        return [(("brands", index), f"brand {brand.id!r} has neither a query nor aliases", fix)]
    if brand.query is None:
        try:
            query_from_aliases(brand.aliases)
        except ValueError as error:
            return [
                (("brands", index, "aliases"), str(error), "give each alias at least one letter or digit")
            ]
        return []
    errors = [p for p in lint_query(brand.query) if p.severity == "error"]
    return [
        (
            ("brands", index, "query"),
            f"{p.message} at position {p.position}: {_pointed(brand.query, p.position)}",
            f"expected {p.expected}" if p.expected else "see the README's query syntax",
        )
        for p in errors
    ]


def _pointed(query: str, position: int) -> str:
    """The query with `>>>` marking the position, shortened around it."""
    start = max(0, position - 40)
    before, after = query[start:position], query[position : position + 40]
    return f"{'...' if start else ''}{before}>>>{after}{'...' if position + 40 < len(query) else ''}"


def query_warnings(config: BrandmonConfig) -> list[str]:
    """Warnings of the linter (queries that can never match or are dangerously broad)."""
    found = []
    for brand in config.brands:
        if brand.query is None:
            continue
        for problem in lint_query(brand.query):
            if problem.severity == "warning":
                where = _pointed(brand.query, problem.position)
                found.append(
                    f"brands.{brand.id}.query: {problem.message} at position {problem.position}: {where}"
                )
    return found


@dataclass(frozen=True)
class ConfigProblem:
    path: str
    line: int | None
    message: str
    fix: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.message} -> fix: {self.fix}"


class ConfigError(Exception):
    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def load_config(path: Path) -> BrandmonConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        fix = "create it (brandmon/demo.yaml is an example) or set BRANDMON_CONFIG to the right path"
        raise ConfigError([ConfigProblem(str(path), None, "config file not found", fix)]) from None
    except (OSError, UnicodeDecodeError) as exc:
        fix = "make it a readable UTF-8 text file"
        raise ConfigError([ConfigProblem(str(path), None, f"cannot read: {exc}", fix)]) from None
    return parse_config(text, str(path))


def parse_config(text: str, filename: str = "<string>") -> BrandmonConfig:
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ConfigError([_yaml_problem(exc, filename)]) from None
    if not isinstance(data, dict) or root is None:
        line = None if root is None else root.start_mark.line + 1
        msg = f"the top level must be a mapping, got {type(data).__name__}"
        fix = "start the file with 'brands:' (a list of brands) and optionally 'sources:'"
        raise ConfigError([ConfigProblem(filename, line, msg, fix)])
    lines: dict[Loc, int] = {}
    problems = _walk(root, (), lines, filename)
    try:
        config = BrandmonConfig.model_validate(data)
    except ValidationError as exc:
        problems += [p for err in exc.errors(include_url=False) for p in _problems(err, lines, filename)]
    if problems:
        raise ConfigError(sorted(problems, key=lambda p: p.line or 0))
    return config


def _yaml_problem(exc: yaml.YAMLError, filename: str) -> ConfigProblem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = None if mark is None else mark.line + 1
    msg = f"invalid YAML: {getattr(exc, 'problem', None) or exc}"
    fix = "check indentation and colons there; quote values starting with '@', '#', '*', '&' or '!'"
    return ConfigProblem(filename, line, msg, fix)


def _walk(node: yaml.Node, loc: Loc, lines: dict[Loc, int], filename: str) -> list[ConfigProblem]:
    """Record the line of every field path (a mapping key's own line); report duplicate keys."""
    lines.setdefault(loc, node.start_mark.line + 1)
    problems: list[ConfigProblem] = []
    if len(loc) > 50:  # a self-referencing anchor (`&a [*a]`); pydantic reports the cycle
        return problems
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*loc, str(key.value))
            if child in lines:
                msg = f"{_dotted(child)}: duplicate key (YAML keeps only the last one)"
                fix = f"remove one of the two, the first is on line {lines[child]}"
                problems.append(ConfigProblem(filename, key.start_mark.line + 1, msg, fix))
            lines[child] = key.start_mark.line + 1
            problems += _walk(value, child, lines, filename)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            problems += _walk(item, (*loc, i), lines, filename)
    return problems


_MODELS: dict[str, type[BaseModel]] = {"brands": BrandConfig, "sources": SourceConfig}
_SHAPES = {
    "list_type": "write a list: '- item' lines or [a, b]",
    "model_type": "write a mapping of 'key: value' lines",
    "dict_type": "write a mapping of 'key: value' lines",
}


def _problems(err: Any, lines: dict[Loc, int], filename: str) -> list[ConfigProblem]:
    if err["type"] == "config_conflict":
        found: list[tuple[Loc, str, str]] = err["ctx"]["found"]
        return [ConfigProblem(filename, _line(loc, lines), f"{_dotted(loc)}: {m}", f) for loc, m, f in found]
    loc: Loc = err["loc"]
    kind, value, ctx = err["type"], err["input"], err.get("ctx", {})
    msg, fix = err["msg"], "see the message"
    if kind == "missing":
        msg = "required field is missing"  # the line falls back to the parent mapping's
        fix = f"add '{loc[-1]}:' to {_dotted(loc[:-1]) or 'the top level'}"
    elif kind == "extra_forbidden":
        model = _MODELS.get(str(loc[0]), BrandmonConfig) if len(loc) > 1 else BrandmonConfig
        known = list(model.model_fields)
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        msg = "unknown field"
        fix = f"did you mean {close[0]!r}?" if close else f"remove it; known fields: {', '.join(known)}"
    elif kind == "string_pattern_mismatch":
        slug = re.sub(r"[^a-z0-9_-]+", "-", str(value).lower()).strip("-_")[:32] or "acme"
        msg = f"{value!r} does not match {ctx['pattern']}"
        fix = f"use lower-case letters, digits, '-' or '_' (max 32), e.g. {slug!r}"
    elif kind == "literal_error":
        msg, fix = f"unknown value {value!r}", f"use one of {ctx['expected']}"
    elif kind in ("too_short", "string_too_short"):
        fix = "give at least one item" if kind == "too_short" else "give a non-empty value"
    elif kind == "string_too_long":
        fix = f"shorten it to at most {ctx['max_length']} characters"
    elif kind.endswith("_type"):
        msg = f"{msg}, got {value!r}"
        fix = _SHAPES.get(kind, "write a quoted string")
        if value is None:
            fix = "fill in a value; an unquoted '#' starts a YAML comment, so write '#tag' in quotes"
    return [ConfigProblem(filename, _line(loc, lines), f"{_dotted(loc)}: {msg}", fix)]


def _line(loc: Loc, lines: dict[Loc, int]) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _dotted(loc: Loc) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
