"""Brand detail: why a brand's tile is red. Volume against its baseline, sentiment, sources and
share of voice in its competitor group, with every spike alert marked on the time axis.

Templated by `brand` (the brand ids Prometheus has seen). For the TV playlist, which cannot set
variables, `brand_detail(config, brand_id)` gives the same dashboard pinned to one brand.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import dashboard as models

from brandmon import grafana_promql as q
from brandmon import grafana_tiles as tiles
from brandmon.config import BrandmonConfig
from brandmon.grafana_annotations import brand_annotations
from brandmon.grafana_panels import PROMETHEUS, PanelBuilder, graph, stat_tile

BRAND_UID = "brandmon-brand"
VOLUME_TITLE = "Authors per bucket vs baseline"
"""The panel spike alerts link to (alert rules' panelId)."""
B, RATE = "$brand", "$__rate_interval"


def pinned_uid(brand_id: str) -> str:
    """uid of the brand's pinned copy; `bm-` + id stays within Grafana's 40 characters."""
    return f"bm-{brand_id}"


def _tiles() -> list[PanelBuilder]:
    late = f'sum(increase(brandmon_late_mentions_total{{brand="{B}"}}[1h])) or vector(0)'
    return [
        tiles.volume(B, (0, 0, 4, 5)),
        tiles.versus_usual(B, (4, 0, 4, 5)),
        stat_tile(
            "Spike score",
            "Surprise of the last closed bucket under the learned baseline, 0..1 (1: most unusual).",
            f'max(brandmon_spike_score{{brand="{B}"}})',
            (8, 0, 4, 5),
            steps=((None, "green"), (0.95, "orange"), (0.999, "red")),
            decimals=3,
        ),
        tiles.net_sentiment(B, (12, 0, 4, 5)),
        tiles.rumour(B, (16, 0, 4, 5)),
        stat_tile(
            "Late mentions (1 h)",
            "Mentions that arrived after their spike bucket closed: counted here, not in a bucket.",
            late,
            (20, 0, 4, 5),
            steps=((None, "green"), (1, "orange")),
            decimals=0,
        ),
    ]


def _per_minute(label: str) -> str:
    return f"60 * sum by ({label}) (rate({q.mentions(B)}[{RATE}]))"


def _graphs(config: BrandmonConfig) -> list[PanelBuilder]:
    panels: list[PanelBuilder] = [
        graph(
            VOLUME_TITLE,
            "Distinct authors per closed spike bucket (one account posting 500 times is one author) "
            "and the seasonal baseline the detector expects. Red marks: alert messages.",
            [(q.authors_observed(B), "observed authors"), (q.authors_expected(B), "expected (baseline)")],
            (0, 5, 16, 9),
        ),
        graph(
            "Spike score",
            "Negative-binomial surprise of each closed bucket, 0..1.",
            [(f'max(brandmon_spike_score{{brand="{B}"}})', "spike score")],
            (16, 5, 8, 9),
        ),
        graph(
            "Sentiment",
            "Net: positive minus negative share of scored mentions. Mean: average compound score. "
            "Sliding 15 minutes, -1..1. By language: not available (language is not a metric label).",
            [(q.net_sentiment(B, "15m"), "net sentiment"), (q.compound_mean(B, "15m"), "mean compound")],
            (0, 14, 12, 9),
            unit="percentunit",
        ),
        graph(
            "Mentions by sentiment label",
            "Per minute. none: a language without a sentiment model (never counted as neutral).",
            [(_per_minute("sentiment"), "{{sentiment}}")],
            (12, 14, 12, 9),
            unit="cpm",
            stacked=True,
        ),
        graph(
            "Mentions by source",
            "Per minute, by connector kind (kinds brandmon does not know: other).",
            [(_per_minute("source"), "{{source}}")],
            (0, 23, 12, 9),
            unit="cpm",
            stacked=True,
        ),
        graph(
            "Alert messages by state",
            "Spike alert messages published per interval: opened, updated while growing, resolved.",
            [(f'sum by (state) (increase(brandmon_alerts_total{{brand="{B}"}}[{RATE}]))', "{{state}}")],
            (0, 32, 12, 7),
            bars=True,
        ),
        graph(
            "Late and future mentions",
            "Per minute. Late: after the spike bucket closed. Future: dated over an hour ahead of the "
            "worker's clock, left out of spike detection.",
            [
                (f'60 * sum(rate(brandmon_late_mentions_total{{brand="{B}"}}[{RATE}]))', "late"),
                (f'60 * sum(rate(brandmon_future_mentions_total{{brand="{B}"}}[{RATE}]))', "future"),
            ],
            (12, 32, 12, 7),
            unit="cpm",
        ),
    ]
    groups = config.competitor_groups()
    if groups:
        named = "; ".join(f"{group}: {', '.join(ids)}" for group, ids in groups.items())
        share = graph(
            "Share of voice in the competitor group",
            f"Each brand's share of its group's mentions, sliding 15 minutes. Groups from the brand "
            f"config ({named}). No data: the brand has no competitors group.",
            [(q.share_of_voice(config, B, "15m"), "{{brand}}")],
            (12, 23, 12, 9),
            unit="percentunit",
            percent=True,
        )
        panels.insert(5, share)
    return panels


def brand_detail(config: BrandmonConfig, brand: str | None = None) -> dashboard_builders.Dashboard:
    """The templated brand dashboard, or (`brand` given) its read-only copy pinned to that brand."""
    variable: cogbuilder.Builder[models.VariableModel]
    if brand is None:
        first = config.brands[0].id
        variable = (
            dashboard_builders.QueryVariable("brand")
            .label("Brand")
            .query("label_values(brandmon_mentions_total, brand)")
            .datasource(PROMETHEUS)
            .refresh(models.VariableRefresh.ON_DASHBOARD_LOAD)
            .sort(models.VariableSort.ALPHABETICAL_ASC)
            .current(models.VariableOption(selected=True, text=first, value=first))
        )
        board = dashboard_builders.Dashboard("Brandmon brand detail").uid(BRAND_UID).tags(["brandmon"])
    else:
        name = next(b.name for b in config.brands if b.id == brand)
        variable = dashboard_builders.ConstantVariable("brand").value(brand)
        board = dashboard_builders.Dashboard(f"Brandmon: {name}").uid(pinned_uid(brand)).readonly()
        board = board.tags(["brandmon", "brandmon-tv"])
    board = board.time("now-6h", "now").refresh("1m").with_variable(variable)
    for annotation in brand_annotations():
        board = board.annotation(annotation)
    for panel in _tiles() + _graphs(config):
        board = board.with_panel(panel)
    return board
