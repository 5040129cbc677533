"""PromQL shared by the dashboards and the Grafana-managed alert rules.

`brand` is a configured brand id or a dashboard variable (`$brand`); ids are validated by the
config (`ID_PATTERN`: letters, digits, `-`, `_`), so they are safe inside `"..."` and regexes.
Definitions match `deploy/prometheus/rules/brandmon-recording.yml` (net sentiment over *scored*
mentions only: `sentiment="none"` means no sentiment model for the language, never neutral), but
use raw series, so the dashboards also work on a Prometheus without brandmon's rule files.
Sentiment by language is not available: language is not a metric label (it would multiply series).
"""

from __future__ import annotations

from brandmon.config import BrandmonConfig

MENTIONS = "brandmon_mentions_total"
SEVERITY_LEVELS = {"high": 3, "medium": 2, "low": 1}
"""`brandmon_alerts_active` severities as one number per brand, so a tile can show the worst."""


def mentions(brand: str, extra: str = "") -> str:
    return f'{MENTIONS}{{brand="{brand}"{extra}}}'


def mentions_per_minute(brand: str, window: str = "5m") -> str:
    """Matched mentions per minute; 0 (not "no data") for a brand nobody mentioned yet."""
    return f"60 * sum(rate({mentions(brand)}[{window}])) or vector(0)"


def authors_observed(brand: str) -> str:
    return f'max(brandmon_spike_observed_authors{{brand="{brand}"}})'


def authors_expected(brand: str) -> str:
    return f'max(brandmon_spike_expected_authors{{brand="{brand}"}})'


def authors_vs_expected(brand: str) -> str:
    """Distinct authors of the last closed bucket over the baseline; 1 = a usual bucket.

    The baseline is floored at one author so a quiet brand's 3 authors read 3x, not 30x.
    """
    return f"{authors_observed(brand)} / clamp_min({authors_expected(brand)}, 1)"


def _rate(brand: str, window: str, matchers: str = "") -> str:
    return f"sum(rate({mentions(brand, matchers)}[{window}]))"


def net_sentiment(brand: str, window: str) -> str:
    """Positive minus negative share of scored mentions, -1..1 (absent with no scored mention).

    A brand that never had a negative (or positive) mention has no such series: `or 0 * scored`
    makes that 0 instead of dropping the whole result.
    """
    scored = _rate(brand, window, ',sentiment!="none"')
    positive = _rate(brand, window, ',sentiment="positive"')
    negative = _rate(brand, window, ',sentiment="negative"')
    return f"(({positive} or 0 * {scored}) - ({negative} or 0 * {scored})) / ({scored} > 0)"


def compound_mean(brand: str, window: str) -> str:
    """Mean sentiment compound score (-1..1) of the brand's scored mentions."""
    return (
        f'sum(rate(brandmon_sentiment_compound_sum{{brand="{brand}"}}[{window}]))'
        f' / (sum(rate(brandmon_sentiment_compound_count{{brand="{brand}"}}[{window}])) > 0)'
    )


def alert_level(brand: str) -> str:
    """0 none, 1 low, 2 medium, 3 high: the worst open spike alert of the brand.

    Each term keeps its `severity` label, so `or` keeps all of them and `max` picks the worst.
    """
    terms = [
        f'{level} * brandmon_alerts_active{{brand="{brand}",severity="{severity}"}}'
        for severity, level in SEVERITY_LEVELS.items()
    ]
    return f"max({' or '.join(terms)} or vector(0))"


def alert_levels() -> str:
    """`alert_level` for every brand at once (brands with no alert series are left out)."""
    terms = [
        f'{level} * brandmon_alerts_active{{severity="{severity}"}}'
        for severity, level in SEVERITY_LEVELS.items()
    ]
    return f"max by (brand) ({' or '.join(terms)})"


def moving_lag() -> str:
    """Processing lag per partition that is moving or has messages waiting (as PipelineLag)."""
    waiting_or_moving = (
        "(brandmon_stream_backlog_messages > 0 or changes(brandmon_stream_processed_offset[5m]) > 0)"
    )
    return f"max by (partition) (brandmon_stream_lag_seconds and {waiting_or_moving})"


def data_age() -> str:
    """Seconds since the event time of the newest mention processed on any partition."""
    return "time() - max(brandmon_stream_last_event_timestamp_seconds)"


def source_age() -> str:
    return "time() - max by (source) (brandmon_source_last_success_timestamp_seconds)"


def source_allowed_silence() -> str:
    """How long a source may go without success: 10 of its usual intervals, 15 min .. 1 h.

    The usual interval is 6 h over the number of successes seen in 6 h (a success moves the
    gauge): `source:brandmon_source_success_interval_seconds:avg6h` of the Prometheus recording
    rules, inlined. A 5-minute RSS poll and a streaming source each get a fitting limit.
    """
    successes = "clamp_min(max by (source) (changes(brandmon_source_last_success_timestamp_seconds[6h])), 1)"
    return f"clamp(10 * 21600 / {successes}, 900, 3600)"


def source_down() -> str:
    """The sources that are down, decided as the Prometheus SourceDown alert decides.

    Down: silent for its allowed silence, or failing (3+ errors in 15 min with no success for
    5 min or none since start), and in either case nothing published for 15 minutes (a source
    whose items flow is working). Only down sources are returned.
    """
    last = "max by (source) (brandmon_source_last_success_timestamp_seconds)"
    backoff = "max by (source) (brandmon_source_backoff_seconds)"
    silent = f"(time() - {last} > on (source) {source_allowed_silence()})"
    never = f"({backoff} unless on (source) {last})"
    failing = (
        "(sum by (source) (increase(brandmon_source_errors_total[15m])) >= 3"
        f" and on (source) (time() - {last} > 300 or on (source) {never}))"
    )
    idle = f"(sum by (source) (increase(brandmon_source_items_total[15m])) or on (source) 0 * {backoff}) == 0"
    return f"({silent} or on (source) {failing}) and on (source) {idle}"


def sources_down() -> str:
    return f"count({source_down()}) or vector(0)"


def share_of_voice(config: BrandmonConfig, brand: str, window: str) -> str:
    """Each brand's share of its competitor group's mentions, for the group `brand` belongs to.

    Per group: the members' rates over the group's sum, kept only if `brand` is a member (a
    selector with both `brand=~members` and `brand="<brand>"` matches only then). One panel thus
    serves every brand of a templated dashboard. Absent for a brand without a group.
    """
    parts = []
    for members in config.competitor_groups().values():
        selector = f'{MENTIONS}{{brand=~"{"|".join(members)}"}}'
        member = f'{MENTIONS}{{brand=~"{"|".join(members)}",brand="{brand}"}}'
        share = (
            f"sum by (brand) (rate({selector}[{window}]))"
            f" / on () group_left () (sum(rate({selector}[{window}])) > 0)"
        )
        parts.append(f"({share} and on () count({member}))")
    return " or ".join(parts)
