"""Grafana-managed alert rules equivalent to brandmon's key Prometheus alerts, and their routing.

For installations that alert from Grafana rather than from Prometheus (deploy/prometheus/rules):
run one or the other, or on-call gets every alert twice. Titles are the Prometheus alert names
(Grafana sends the title as `alertname`), labels the same `severity` and `class`, so the
Alertmanager routes and inhibition rules of deploy/alertmanager apply unchanged; notifications go
to that Alertmanager. Grafana 11.6 rules have no `keep_firing_for`: `for` and the worker's own
hysteresis are the protection against flapping.

Rules are built as SDK models (the provisioning API's shape) and converted to Grafana's file
shape, which keeps folder and group outside the rule and the panel link in `dashboardUid`/`panelId`.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from grafana_foundation_sdk.builders import alerting, expr, prometheus
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import alerting as models
from grafana_foundation_sdk.models import dashboard as dashboard_models

from brandmon import grafana_promql as q
from brandmon.grafana_brand import VOLUME_TITLE
from brandmon.grafana_connectors import SOURCES_TITLE
from brandmon.grafana_panels import DATASOURCE_UID, FOLDER_TITLE, FOLDER_UID, PROMETHEUS
from brandmon.grafana_pipeline import AGE_TITLE, LAG_LIMIT_SECONDS, LAG_TITLE

RULE_GROUP = "brandmon"
CONTACT_POINT = "brandmon-alertmanager"
WORKER_JOB = "brandmon-worker"
"""The worker's scrape job in deploy/prometheus/prometheus.yml (and the compose config)."""
LABELS = {"service": "brandmon"}
"""On every rule: the wall's alert list selects brandmon's alerts by it."""
EXPRESSIONS = dashboard_models.DataSourceRef(type_val="__expr__", uid="__expr__")
"""Grafana's server-side expressions (threshold, math) as a data source."""
NoData = Literal["Alerting", "NoData", "OK"]


def _query(ref: str, promql: str) -> alerting.Query:
    model = prometheus.Dataquery().expr(promql).instant().ref_id(ref).datasource(PROMETHEUS)
    window = models.RelativeTimeRange(from_val=600, to=0)
    return alerting.Query(ref).datasource_uid(DATASOURCE_UID).relative_time_range(window).model(model)


def _threshold(source: str, operator: Literal["gt", "lt"], limit: float) -> alerting.Query:
    """Query C, the condition: `source` above (gt) or below (lt) `limit`."""
    evaluator = expr.ExprTypeThresholdConditionsEvaluator().type(operator).params([limit])
    condition = expr.ExprTypeThresholdConditions().evaluator(evaluator)
    model = (
        expr.TypeThreshold().ref_id("C").datasource(EXPRESSIONS).expression(source).conditions([condition])
    )
    return alerting.Query("C").datasource_uid("__expr__").model(model)


def _rule(
    uid: str,
    title: str,
    promql: str,
    condition: tuple[Literal["gt", "lt"], float],
    *,
    pending: str,
    no_data: NoData,
    labels: dict[str, str],
    texts: dict[str, str],
    link: dict[str, str],
) -> models.Rule:
    """One rule: PromQL as query A, the condition on A as query C."""
    rule = alerting.Rule(title).uid(uid).folder_uid(FOLDER_UID).rule_group(RULE_GROUP).org_id(1)
    rule = rule.with_query(_query("A", promql)).with_query(_threshold("A", *condition)).condition("C")
    rule = rule.for_val(pending).no_data_state(no_data).exec_err_state("Error")
    return rule.labels({**LABELS, **labels}).annotations({**texts, **link}).build()


def _link(board: dashboard_models.Dashboard, title: str) -> dict[str, str]:
    """Grafana's annotations that link an alert to the panel explaining it (found by title)."""
    panel = next(p for p in board.panels or [] if p.title == title)
    return {"__dashboardUid__": str(board.uid), "__panelId__": str(panel.id_val)}


def alert_rules(
    brand: dashboard_models.Dashboard, pipeline: dashboard_models.Dashboard, grafana_url: str
) -> list[models.Rule]:
    """The rules, linked to the panels that explain them (`brand`: the templated brand dashboard)."""
    brand_url = f"{grafana_url.rstrip('/')}/d/{brand.uid}?var-brand={{{{ $labels.brand }}}}"
    return [
        _rule(
            "brandmon-rumour-spike",
            "BrandRumourSpike",
            q.alert_levels(),
            ("gt", 0),
            pending="1m",
            no_data="OK",  # no worker metrics at all is WorkerDown's business
            # One alert per brand: critical while the worker's alert is high, else warning.
            labels={"severity": "{{ if eq $values.A.Value 3.0 }}critical{{ else }}warning{{ end }}"},
            texts={
                "summary": "Rumour spike about {{ $labels.brand }}",
                "description": "brandmon's spike detector has an open alert for brand {{ $labels.brand }}: "
                "distinct authors in the latest bucket are far above its seasonal baseline. Driving "
                "terms, sample posts and rumour signals are in the alert on brandmon.alerts.v1.",
                "dashboard_url": brand_url,
            },
            link=_link(brand, VOLUME_TITLE),
        ),
        _rule(
            "brandmon-source-down",
            "SourceDown",
            q.source_down(),
            ("gt", 0),  # the query returns only down sources (value: silence or errors)
            pending="5m",
            no_data="OK",  # no source down, or no connector scraped
            labels={"severity": "warning", "class": "ingest_down"},
            texts={
                "summary": "Source {{ $labels.source }} is down",
                "description": "Connector source {{ $labels.source }} is not delivering: no success for "
                "10 of its usual intervals, or failing, and no mention published in 15 minutes. The "
                "pipeline dashboard shows its errors by kind and backoff.",
            },
            link=_link(pipeline, SOURCES_TITLE),
        ),
        _rule(
            "brandmon-pipeline-lag",
            "PipelineLag",
            q.moving_lag(),
            ("gt", LAG_LIMIT_SECONDS),
            pending="1m",
            no_data="OK",  # nothing moving or waiting: not lag
            labels={"severity": "warning"},
            texts={
                "summary": "brandmon is {{ humanizeDuration $values.A.Value }} behind on partition "
                "{{ $labels.partition }}",
                "description": "Mentions are processed long after they were fetched, or wait, for a "
                "minute; behind by more than 2 minutes, spike detection misses mentions. Add workers "
                "(up to the partition count) or look for a slow step or a stuck consumer.",
            },
            link=_link(pipeline, LAG_TITLE),
        ),
        _rule(
            "brandmon-worker-down",
            "WorkerDown",
            f'up{{job="{WORKER_JOB}"}}',
            ("lt", 1),
            pending="2m",
            no_data="Alerting",  # not scraped at all: no worker, or a wrong job name
            labels={"severity": "critical", "class": "ingest_down"},
            texts={
                "summary": "brandmon worker at {{ $labels.instance }} is down",
                "description": "Prometheus cannot scrape the stream worker: mentions are neither scored "
                "nor counted, and no spike alert can open.",
            },
            link=_link(pipeline, AGE_TITLE),
        ),
    ]


def _plain(value: object) -> Any:
    return json.loads(json.dumps(value, cls=JSONEncoder))


def rules_file(rules: list[models.Rule], interval: str = "1m") -> dict[str, Any]:
    """Grafana's file-provisioning shape of the rules (one group in the Brandmon folder)."""
    converted = []
    for rule in rules:
        data = _plain(rule)
        annotations = data.pop("annotations")
        converted.append(
            {
                "uid": data["uid"],
                "title": data["title"],
                "condition": data["condition"],
                "data": data["data"],
                "dashboardUid": annotations.pop("__dashboardUid__"),
                "panelId": int(annotations.pop("__panelId__")),
                "noDataState": data["noDataState"],
                "execErrState": data["execErrState"],
                "for": data["for"],
                "annotations": annotations,
                "labels": data["labels"],
                "isPaused": False,
            }
        )
    group = {"orgId": 1, "name": RULE_GROUP, "folder": FOLDER_TITLE, "interval": interval, "rules": converted}
    return {"apiVersion": 1, "groups": [group]}


def contact_points_file(alertmanager_url: str) -> dict[str, Any]:
    receiver = {
        "uid": CONTACT_POINT,
        "type": "prometheus-alertmanager",
        "settings": {"url": alertmanager_url},
        "disableResolveMessage": False,
    }
    return {"apiVersion": 1, "contactPoints": [{"orgId": 1, "name": CONTACT_POINT, "receivers": [receiver]}]}


def policies_file() -> dict[str, Any]:
    """The organisation's notification policy tree: everything to Alertmanager, grouped per brand/source."""
    policy = (
        alerting.NotificationPolicy()
        .receiver(CONTACT_POINT)
        .group_by(["alertname", "brand", "source"])
        .group_wait("30s")
        .group_interval("5m")
        .repeat_interval("4h")
    )
    return {"apiVersion": 1, "policies": [{"orgId": 1, **_plain(policy.build())}]}
