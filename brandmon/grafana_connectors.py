"""Connector health on the pipeline dashboard: per source, is it answering, how much does it bring,
what fails, and how long does it wait, so a dead source is not mistaken for a quiet brand.

The `source` label is the configured instance name (`brandmon_source_*` from connectors/health.py).
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import table
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants
from grafana_foundation_sdk.models import dashboard as models
from grafana_foundation_sdk.models import prometheus as prometheus_models

from brandmon import grafana_promql as q
from brandmon.grafana_panels import PROMETHEUS, Grid, PanelBuilder, graph, place, target

SOURCES_TITLE = "Connector sources"
"""The panel the Source down alert links to."""
RATE = "$__rate_interval"


def connector_table(at: Grid) -> table.Panel:
    """One row per source: one column per instant query, merged on the `source` label."""
    columns = [
        ("last success", q.source_age(), "s"),
        ("allowed silence", q.source_allowed_silence(), "s"),
        ("items/min", "60 * sum by (source) (rate(brandmon_source_items_total[5m]))", "cpm"),
        ("errors/min", "60 * sum by (source) (rate(brandmon_source_errors_total[5m]))", "cpm"),
        ("backoff", "max by (source) (brandmon_source_backoff_seconds)", "s"),
    ]
    refs = [chr(ord("A") + i) for i in range(len(columns))]
    queries: list[cogbuilder.Builder[variants.Dataquery]] = [
        target(expr, ref=ref, instant=True).format(prometheus_models.PromQueryFormat.TABLE)
        for ref, (_, expr, _) in zip(refs, columns, strict=True)
    ]
    organize = {
        "excludeByName": {"Time": True},
        "renameByName": {f"Value #{ref}": name for ref, (name, _, _) in zip(refs, columns, strict=True)},
    }
    panel = (
        table.Panel()
        .title(SOURCES_TITLE)
        .description(
            "Per configured source: time since its last successful answer, the silence allowed before "
            "Source down fires, items and errors per minute (5 min), and the current backoff."
        )
        .datasource(PROMETHEUS)
        .targets(queries)
        .with_transformation(models.DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(models.DataTransformerConfig(id_val="organize", options=organize))
    )
    place(panel, at)
    for name, _, unit in columns:
        panel = panel.override_by_name(name, [models.DynamicConfigValue(id_val="unit", value=unit)])
    return panel


def connector_panels(y: int) -> list[PanelBuilder]:
    """The connector section of the pipeline dashboard, from grid row `y` (15 rows)."""
    errors = f"60 * sum by (source, kind) (rate(brandmon_source_errors_total[{RATE}])) > 0"
    return [
        connector_table((0, y, 24, 7)),
        graph(
            "Time since last success",
            "Per source.",
            [(q.source_age(), "{{source}}")],
            (0, y + 7, 8, 8),
            unit="s",
        ),
        graph(
            "Connector errors by kind",
            "Per minute: rate_limited, http_4xx, http_5xx, network, parse, publish.",
            [(errors, "{{source}} {{kind}}")],
            (8, y + 7, 8, 8),
            unit="cpm",
            stacked=True,
        ),
        graph(
            "Backoff",
            "Current wait before the next request, per source (0 when healthy).",
            [("max by (source) (brandmon_source_backoff_seconds)", "{{source}}")],
            (16, y + 7, 8, 8),
            unit="s",
        ),
    ]
