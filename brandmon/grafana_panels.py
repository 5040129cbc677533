"""Panel building blocks of brandmon's Grafana dashboards (grafana-foundation-sdk builders).

Every panel reads the one provisioned Prometheus data source by its fixed uid, so dashboards,
alert rules and the data source file agree without lookups, and a panel is never left on
Grafana's "default" data source (which differs between installations). Positions are always
given explicitly: the wall must fit one screen, which an auto-flowing layout cannot promise.
"""

from __future__ import annotations

from collections.abc import Sequence

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.builders import prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as models

DATASOURCE_UID = "brandmon-prometheus"
PROMETHEUS = models.DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)
FOLDER_UID = "brandmon"
FOLDER_TITLE = "brandmon"
"""The folder `brandmon grafana push` creates too (brandmon.grafana_push), so both land in one."""
ALERT_LABEL_FILTER = '{service="brandmon"}'
"""Every Grafana-managed brandmon rule carries this label; the wall's alert list shows only them."""

Steps = Sequence[tuple[float | None, str]]
Grid = tuple[int, int, int, int]
"""x, y, width, height on Grafana's grid."""
NO_VALUE = "\N{EN DASH}"


def target(expr: str, legend: str = "", ref: str = "A", *, instant: bool = False) -> prometheus.Dataquery:
    """One PromQL query; instant for single-value tiles and tables (no range evaluation wasted)."""
    query = prometheus.Dataquery().expr(expr).ref_id(ref).datasource(PROMETHEUS)
    if legend:
        query = query.legend_format(legend)
    return query.instant() if instant else query.range()


def thresholds(steps: Steps) -> dashboard_builders.ThresholdsConfig:
    """Absolute thresholds; the first step's value is None (Grafana's "base", minus infinity)."""
    return (
        dashboard_builders.ThresholdsConfig()
        .mode(models.ThresholdsMode.ABSOLUTE)
        .steps([models.Threshold(value=value, color=color) for value, color in steps])
    )


def value_texts(texts: dict[int, tuple[str, str]]) -> list[models.ValueMapping]:
    """Numbers shown as words in a colour (0 -> "OK" green): readable across a room."""
    options = {
        str(value): models.ValueMappingResult(text=text, color=color, index=index)
        for index, (value, (text, color)) in enumerate(sorted(texts.items()))
    }
    return [models.ValueMap(options=options)]


PanelBuilder = cogbuilder.Builder[models.Panel]


def place(panel: stat.Panel | timeseries.Panel | table.Panel | dashboard_builders.Panel, at: Grid) -> None:
    """Put a panel on Grafana's grid: 24 columns; one row unit is 30 px plus an 8 px gap."""
    x, y, w, h = at
    panel.grid_pos(models.GridPos(h=h, w=w, x=x, y=y))


def stat_tile(
    title: str,
    description: str,
    expr: str,
    at: Grid,
    *,
    instant: bool = True,
    unit: str = "short",
    steps: Steps = ((None, "text"),),
    mappings: list[models.ValueMapping] | None = None,
    name: str | None = None,
    legend: str = "",
    value_size: int = 48,
    decimals: int | None = None,
) -> stat.Panel:
    """A big number (or word) coloured by its state: the background if `steps` say more than "text".

    A range query (`instant=False`) adds a sparkline. `value_size` is in pixels: 48 px digits are
    about 3.5 cm tall on a 55" 1080p screen, readable from 5 m. `name` is shown above the value
    (the brand on the wall), larger than a panel title; `legend` alone shows only the series name.
    """
    coloured = any(color != "text" for _, color in steps)
    text_mode = common.BigValueTextMode.VALUE_AND_NAME if name else common.BigValueTextMode.VALUE
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .targets([target(expr, legend, instant=instant)])
        .unit(unit)
        .thresholds(thresholds(steps))
        .color_mode(common.BigValueColorMode.BACKGROUND if coloured else common.BigValueColorMode.VALUE)
        .graph_mode(common.BigValueGraphMode.NONE if instant else common.BigValueGraphMode.AREA)
        .text_mode(common.BigValueTextMode.NAME if legend and not name else text_mode)
        .justify_mode(common.BigValueJustifyMode.CENTER)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .text(common_builders.VizTextDisplayOptions().value_size(value_size).title_size(value_size // 2))
        .no_value(NO_VALUE)
    )
    place(panel, at)
    if name:
        panel = panel.display_name(name)
    if mappings:
        panel = panel.mappings(mappings)
    if decimals is not None:
        panel = panel.decimals(decimals)
    return panel


def graph(
    title: str,
    description: str,
    lines: Sequence[tuple[str, str]],
    at: Grid,
    *,
    unit: str = "short",
    stacked: bool = False,
    percent: bool = False,
    bars: bool = False,
    limit_line: float | None = None,
) -> timeseries.Panel:
    """A time series of (PromQL, legend) lines; `limit_line` draws an alert's threshold."""
    queries: list[cogbuilder.Builder[variants.Dataquery]] = [
        target(expr, legend, chr(ord("A") + i)) for i, (expr, legend) in enumerate(lines)
    ]
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .targets(queries)
        .unit(unit)
        .fill_opacity(60 if stacked or percent else 10)
        .line_width(1 if stacked or percent else 2)
        .legend(
            common_builders.VizLegendOptions()
            .show_legend(True)
            .display_mode(common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.BOTTOM)
            .calcs([])
        )
    )
    place(panel, at)
    if stacked or percent:
        mode = common.StackingMode.PERCENT if percent else common.StackingMode.NORMAL
        panel = panel.stacking(common_builders.StackingConfig().mode(mode))
    if bars:
        panel = panel.draw_style(common.GraphDrawStyle.BARS)
    if limit_line is not None:
        panel = panel.thresholds(thresholds(((None, "transparent"), (limit_line, "red"))))
        style = common_builders.GraphThresholdsStyleConfig().mode(common.GraphThresholdsStyleMode.DASHED)
        panel = panel.thresholds_style(style)
    return panel


def finish(board: dashboard_builders.Dashboard) -> models.Dashboard:
    """Build a dashboard and number its panels 1, 2, ... in the order they were added.

    Stable ids keep links to a panel (alert rules' panelId, shared URLs) valid across regenerations.
    """
    built = board.build()
    for number, panel in enumerate(built.panels or [], start=1):
        panel.id_val = number
    return built
