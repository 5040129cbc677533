"""Alert markers on the brand dashboards' time axes.

Two sources, both per brand: the worker's `brandmon_alerts_total` counter (always there, from
Prometheus) and the annotations `brandmon grafana push --annotate` writes for each alert opened
or resolved (tagged `brand:<id>`, with driving terms in the text). Grafana's built-in
"Annotations & Alerts" is switched off: on the templated dashboard it would mix all brands.
"""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import dashboard as models

from brandmon.grafana_panels import PROMETHEUS

GRAFANA = models.DataSourceRef(type_val="grafana", uid="-- Grafana --")
"""Grafana's own annotation store."""


class PrometheusAnnotation(models.AnnotationQuery):
    """A Prometheus annotation query with fields the SDK's model lacks (title, text, tags, step).

    Without `titleFormat` and `tagKeys` Grafana would draw unlabelled markers. `EXTRA_KEYS` is
    what a round trip through the SDK's `AnnotationQuery.from_json` drops.
    """

    EXTRA_KEYS = frozenset({"step", "titleFormat", "textFormat", "tagKeys", "useValueForTime"})

    def __init__(self, name: str, expr: str, extra: dict[str, Any]) -> None:
        if set(extra) - self.EXTRA_KEYS:
            raise ValueError(f"unknown annotation fields: {sorted(set(extra) - self.EXTRA_KEYS)}")
        super().__init__(
            name=name, datasource=PROMETHEUS, enable=True, hide=False, icon_color="red", expr=expr
        )
        self.extra = extra

    def to_json(self) -> dict[str, object]:
        return {**super().to_json(), **self.extra}


class _Built(cogbuilder.Builder[models.AnnotationQuery]):
    def __init__(self, annotation: models.AnnotationQuery) -> None:
        self._annotation = annotation

    def build(self) -> models.AnnotationQuery:
        return self._annotation


def counter_changes() -> cogbuilder.Builder[models.AnnotationQuery]:
    """A red marker for each minute in which the brand's alert counter moved, titled with the state."""
    expr = 'sum by (state) (increase(brandmon_alerts_total{brand="$brand"}[2m])) > 0'
    extra = {
        "step": "1m",
        "titleFormat": "Spike alert {{state}}",
        "textFormat": "brandmon published {{state}} alert messages",
        "tagKeys": "state",
        "useValueForTime": False,
    }
    return _Built(PrometheusAnnotation("Spike alerts", expr, extra))


def pushed() -> dashboard_builders.AnnotationQuery:
    """Alerts written by `brandmon grafana push --annotate`, selected by the brand's tag."""
    tags = (
        dashboard_builders.AnnotationTarget().type("tags").tags(["brand:$brand"]).limit(100).match_any(False)
    )
    return (
        dashboard_builders.AnnotationQuery()
        .name("Rumour alerts (grafana push)")
        .datasource(GRAFANA)
        .enable(True)
        .icon_color("orange")
        .target(tags)
    )


def builtin_off() -> dashboard_builders.AnnotationQuery:
    return (
        dashboard_builders.AnnotationQuery()
        .name("Annotations & Alerts")
        .datasource(GRAFANA)
        .built_in(1)
        .type("dashboard")
        .enable(False)
        .hide(True)
        .icon_color("rgba(0, 211, 255, 1)")
    )


def brand_annotations() -> list[cogbuilder.Builder[models.AnnotationQuery]]:
    return [builtin_off(), counter_changes(), pushed()]
