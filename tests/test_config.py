from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest
from pydantic import ValidationError

from brandmon.config import (
    BrandConfig,
    BrandmonConfig,
    ConfigError,
    ConfigProblem,
    SourceConfig,
    load_config,
    parse_config,
)

DEMO = Path(__file__).resolve().parent.parent / "brandmon" / "demo.yaml"


def problems_of(text: str) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as info:
        parse_config(dedent(text), "brandmon.yaml")
    return info.value.problems


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(dedent(text), "brandmon.yaml")
    return str(info.value)


def test_demo_config_loads() -> None:
    config = load_config(DEMO)
    assert len(config.brands) == 6
    groups: dict[str | None, list[str]] = {}
    for brand in config.brands:
        groups.setdefault(brand.competitors, []).append(brand.id)
    assert groups == {
        "coffee": ["brewbird", "kaffeklubben", "bohnenwerk"],
        "scooters": ["voltride", "trundl", "elroller"],
    }
    brewbird = config.brands[0]
    assert brewbird.aliases == ["brewbird", "#brewbird", "@brewbirdcoffee", "brew bird"]
    assert config.sources == [SourceConfig(kind="simulator", name="demo-sim")]


def test_minimal_config_defaults_and_alias_strip() -> None:
    config = parse_config(
        dedent("""\
            brands:
              - id: acme
                name: Acme
                aliases: ["  acme corp  ", "#acme"]
        """)
    )
    assert config.brands == [BrandConfig(id="acme", name="Acme", aliases=["acme corp", "#acme"])]
    assert config.brands[0].competitors is None
    assert config.sources == []


def test_models_are_frozen() -> None:
    config = parse_config("brands: [{id: acme, name: Acme, aliases: [acme]}]")
    with pytest.raises(ValidationError):
        config.brands[0].id = "other"  # type: ignore[misc]


def test_bad_id_pattern_full_line() -> None:
    problems = problems_of("""\
        brands:
          - id: acme
            name: Acme
            aliases: [acme]
          - name: Acme Corp
            aliases: [acme corp]
            id: Acme Corp
    """)
    assert [str(p) for p in problems] == [
        "brandmon.yaml:7: brands[1].id: 'Acme Corp' does not match ^[a-z0-9][a-z0-9_-]{0,31}$"
        " -> fix: use lower-case letters, digits, '-' or '_' (max 32), e.g. 'acme-corp'"
    ]
    assert problems[0] == ConfigProblem(
        path="brandmon.yaml",
        line=7,
        message="brands[1].id: 'Acme Corp' does not match ^[a-z0-9][a-z0-9_-]{0,31}$",
        fix="use lower-case letters, digits, '-' or '_' (max 32), e.g. 'acme-corp'",
    )


def test_unknown_field_suggests_closest() -> None:
    text = error_of("""\
        brands:
          - id: acme
            name: Acme
            alias:
              - acme
    """)
    assert "brandmon.yaml:4: brands[0].alias: unknown field" in text
    assert "did you mean 'aliases'?" in text


def test_a_brand_needs_a_query_or_aliases() -> None:
    text = error_of("""\
        brands:
          - id: acme
            name: Acme
    """)
    assert "brandmon.yaml:2: brands[0]: brand 'acme' has neither a query nor aliases" in text
    assert "add 'query:' (a boolean brand query) or 'aliases:'" in text


def test_query_syntax_errors_name_the_position_and_what_was_expected() -> None:
    text = error_of("""\
        brands:
          - id: acme
            name: Acme
            query: '("acme" OR #acme) AND NOT (roadrunner OR'
    """)
    assert "brandmon.yaml:4: brands[0].query:" in text
    assert "OR needs a right-hand side at position 38" in text
    assert "NOT (roadrunner >>>OR" in text
    assert "-> fix: expected" in text


def test_query_warnings_are_reported_but_do_not_fail() -> None:
    from brandmon.config import parse_config, query_warnings

    config = parse_config("brands: [{id: acme, name: Acme, query: 'acme AND NOT acme'}]")
    assert config.brands[0].effective_query == "acme AND NOT acme"
    [warning] = query_warnings(config)
    assert warning.startswith("brands.acme.query:")
    assert "never" in warning


def test_aliases_become_a_query_of_phrases() -> None:
    from brandmon.config import parse_config

    config = parse_config("brands: [{id: acme, name: Acme, aliases: [acme corp, '#acme']}]")
    assert config.brands[0].effective_query == '"acme corp" OR "#acme"'


def test_unknown_field_without_close_match_lists_known_fields() -> None:
    text = error_of("""\
        brands:
          - {id: acme, name: Acme, aliases: [acme]}
        sources:
          - kind: rss
            name: news
            zzzz: 1
    """)
    assert "brandmon.yaml:6: sources[0].zzzz: unknown field" in text
    assert "known fields: kind, name, options" in text


def test_missing_field_uses_parent_line() -> None:
    problems = problems_of("""\
        brands:
          - id: acme
            name: Acme
            aliases: [acme]

          - id: globex
            aliases: [globex]
    """)
    assert len(problems) == 1
    assert problems[0].line == 6
    assert "brands[1].name: required field is missing" in problems[0].message
    assert problems[0].fix == "add 'name:' to brands[1]"


def test_missing_brands_at_top_level() -> None:
    text = error_of("""\
        # no brands yet
        sources:
          - {kind: simulator, name: sim}
    """)
    assert "brandmon.yaml:2: brands: required field is missing" in text
    assert "add 'brands:' to the top level" in text


def test_wrong_type_aliases_not_a_list() -> None:
    text = error_of("""\
        brands:
          - id: acme
            name: Acme
            aliases: acme
    """)
    assert "brandmon.yaml:4: brands[0].aliases: Input should be a valid list, got 'acme'" in text
    assert "write a list" in text


def test_unquoted_hashtag_becomes_null_and_hint_explains() -> None:
    text = error_of("""\
        brands:
          - id: acme
            name: Acme
            aliases:
              - acme
              - #acme
    """)
    assert "brandmon.yaml:6: brands[0].aliases[1]:" in text
    assert "got None" in text
    assert "write '#tag' in quotes" in text


def test_number_where_string_expected() -> None:
    text = error_of("""\
        brands:
          - id: 2024
            name: Acme
            aliases: [acme]
    """)
    assert "brandmon.yaml:2: brands[0].id: Input should be a valid string, got 2024" in text
    assert "write a quoted string" in text


def test_blank_alias_and_empty_alias_list() -> None:
    problems = problems_of("""\
        brands:
          - id: acme
            name: Acme
            aliases: ["   "]
          - id: globex
            name: Globex
            aliases: []
    """)
    assert [(p.line, p.message.split(":")[0], p.fix) for p in problems] == [
        (4, "brands[0].aliases[0]", "give a non-empty value"),
        (7, "brands[1].aliases", "give at least one item"),
    ]


def test_unknown_source_kind_lists_choices() -> None:
    text = error_of("""\
        brands:
          - {id: acme, name: Acme, aliases: [acme]}
        sources:
          - kind: twitter
            name: x
    """)
    assert "brandmon.yaml:4: sources[0].kind: unknown value 'twitter'" in text
    assert "'simulator'" in text
    assert "'hackernews'" in text


def test_duplicate_brand_ids() -> None:
    problems = problems_of("""\
        brands:
          - {id: acme, name: Acme, aliases: [acme]}
          - {id: globex, name: Globex, aliases: [globex]}
          - {id: acme, name: Acme Again, aliases: [acme inc]}
    """)
    assert len(problems) == 1
    assert problems[0].line == 4
    assert problems[0].message == "brands[2].id: 'acme' is already used by brands[0]"
    assert "unique id" in problems[0].fix


def test_duplicate_source_names() -> None:
    text = error_of("""\
        brands:
          - {id: acme, name: Acme, aliases: [acme]}
        sources:
          - {kind: rss, name: news}
          - {kind: mastodon, name: news}
    """)
    assert "brandmon.yaml:5: sources[1].name: 'news' is already used by sources[0]" in text
    assert "unique name" in text


def test_unknown_language_code_names_the_entry_and_the_fix() -> None:
    problems = problems_of("""\
        brands:
          - {id: acme, name: Acme, aliases: [acme]}
        languages: [en, german, DA]
    """)
    assert [p.message for p in problems] == [
        "languages[1]: 'german' is not a language brandmon can detect",
        "languages[2]: 'DA' is not a language brandmon can detect",
    ]
    assert all(p.line == 3 for p in problems)
    assert "ISO 639-1" in problems[0].fix


def test_languages_default_to_english_german_danish() -> None:
    assert parse_config("brands: [{id: acme, name: Acme, aliases: [acme]}]").languages == ["en", "de", "da"]


def test_competitor_group_of_one_names_group_and_brand() -> None:
    problems = problems_of("""\
        brands:
          - id: acme
            name: Acme
            aliases: [acme]
            competitors: coffee
          - id: globex
            name: Globex
            aliases: [globex]
            competitors: coffee
          - id: initech
            name: Initech
            aliases: [initech]
            competitors: cofee
    """)
    assert len(problems) == 1
    assert problems[0].line == 13
    assert (
        problems[0].message
        == "brands[2].competitors: competitor group 'cofee' has only one brand ('initech')"
    )
    assert problems[0].fix.startswith("did you mean 'coffee'?")


def test_duplicate_yaml_key_is_reported() -> None:
    text = error_of("""\
        brands:
          - id: acme
            name: Acme
            aliases: [acme]
            aliases: [acme corp]
    """)
    assert "brandmon.yaml:5: brands[0].aliases: duplicate key" in text
    assert "line 4" in text


def test_all_problems_are_reported_together_in_line_order() -> None:
    problems = problems_of("""\
        brands:
          - id: Bad Id
            name: ""
            name: Acme
            aliases: [acme]
            colour: red
    """)
    assert [(p.line, p.message.split(":")[0]) for p in problems] == [
        (2, "brands[0].id"),
        (4, "brands[0].name"),
        (6, "brands[0].colour"),
    ]


def test_broken_yaml_reports_line() -> None:
    problems = problems_of("""\
        brands:
          - id: acme
            name: Acme
            aliases: [acme, @acme]
    """)
    assert len(problems) == 1
    assert problems[0].line == 4
    assert problems[0].message.startswith("invalid YAML:")
    assert "'@'" in problems[0].fix


def test_broken_indentation_reports_line() -> None:
    text = error_of("""\
        brands:
          - id: acme
            name: Acme
           aliases: [acme]
    """)
    assert text.startswith("brandmon.yaml:4: invalid YAML:")


@pytest.mark.parametrize("text", ["- acme\n- globex\n", "just a string\n", "", "# only a comment\n"])
def test_top_level_must_be_a_mapping(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "brandmon.yaml")
    assert "the top level must be a mapping" in str(info.value)
    assert "start the file with 'brands:'" in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "brandmon.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(missing)
    (problem,) = info.value.problems
    assert problem.path == str(missing)
    assert problem.line is None
    assert "not found" in problem.message
    assert "BRANDMON_CONFIG" in problem.fix
    assert str(info.value).startswith(f"{missing}: config file not found -> fix: ")


def test_load_config_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("brands:\n  - {id: acme, name: Acme, aliases: [acme], competitors: solo}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}:2: brands[0].competitors: ")


def test_cross_checks_apply_when_built_in_python() -> None:
    brand = BrandConfig(id="acme", name="Acme", aliases=["acme"])
    with pytest.raises(ValidationError, match=r"brands\[1\]\.id: 'acme' is already used by brands\[0\]"):
        BrandmonConfig(brands=[brand, brand])


def test_self_referencing_anchor_is_a_config_error_not_a_crash() -> None:
    text = error_of("brands: &loop [*loop]\n")
    assert text.startswith("brandmon.yaml:1: brands[0]: ")
