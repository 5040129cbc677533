"""State tiles shared by the wall, the brand detail and the pipeline dashboard.

One definition per tile keeps thresholds identical everywhere: a tile that is orange on the
wall is orange on the detail page. Colours: green normal, orange look at it, red act now.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.builders import stat

from brandmon import grafana_promql as q
from brandmon.grafana_panels import (
    ALERT_LABEL_FILTER,
    FOLDER_TITLE,
    FOLDER_UID,
    Grid,
    place,
    stat_tile,
    value_texts,
)

TIMES = "\N{MULTIPLICATION SIGN}"
ALERT_TEXTS = {0: ("calm", "green"), 1: ("LOW", "yellow"), 2: ("MEDIUM", "orange"), 3: ("HIGH", "red")}
STALE_SECONDS = 900
"""Data age at which tiles turn red: the 15 minutes after which Prometheus' StuckConsumer calls a
partition's newest event too old."""


def volume(brand: str, at: Grid, name: str | None = None, title: str = "Mentions per minute") -> stat.Panel:
    return stat_tile(
        title,
        "Matched mentions per minute over the last 5 minutes, with the trend of the time range.",
        q.mentions_per_minute(brand),
        at,
        instant=False,
        name=name,
        decimals=0,
    )


def versus_usual(
    brand: str, at: Grid, name: str | None = None, title: str = "Authors vs usual"
) -> stat.Panel:
    return stat_tile(
        title,
        "Distinct authors in the last closed spike bucket over the learned baseline for that time "
        "of day and week (1x = usual). Orange from 2x, red from 4x; the spike alert itself also "
        "needs persistence and novelty.",
        q.authors_vs_expected(brand),
        at,
        name=name,
        unit=f"suffix:{TIMES}",
        steps=((None, "green"), (2, "orange"), (4, "red")),
        decimals=1,
    )


def net_sentiment(
    brand: str, at: Grid, name: str | None = None, title: str = "Net sentiment (1 h)"
) -> stat.Panel:
    return stat_tile(
        title,
        "Positive minus negative share of the last hour's scored mentions (-100 % .. +100 %). "
        "Mentions in languages without a sentiment model are left out; sentiment by language is "
        "not available (language is not a metric label).",
        q.net_sentiment(brand, "1h"),
        at,
        name=name,
        unit="percentunit",
        steps=((None, "red"), (-0.25, "orange"), (0, "green")),
        decimals=0,
    )


def rumour(brand: str, at: Grid, name: str | None = None, title: str = "Rumour alert") -> stat.Panel:
    return stat_tile(
        title,
        "Worst open spike alert of the brand (brandmon_alerts_active by severity).",
        q.alert_level(brand),
        at,
        name=name,
        mappings=value_texts(ALERT_TEXTS),
        steps=((None, "green"), (1, "yellow"), (2, "orange"), (3, "red")),
    )


def data_age(at: Grid, name: str | None = None) -> stat.Panel:
    return stat_tile(
        "Data age",
        "Time since the event time of the newest mention processed. Orange after 5 minutes, red "
        "after 15: the worker is down or stuck, or every source went quiet.",
        q.data_age(),
        at,
        name=name,
        unit="s",
        steps=((None, "green"), (300, "orange"), (STALE_SECONDS, "red")),
        decimals=0,
    )


def sources_down(at: Grid, name: str | None = None) -> stat.Panel:
    return stat_tile(
        "Sources down",
        "Connector sources down as the SourceDown alert decides: silent for 10 of their usual "
        "intervals (15 min .. 1 h) or failing, and nothing published for 15 minutes. 0 also when "
        "no connector is scraped (connector health is served by `brandmon run` only).",
        q.sources_down(),
        at,
        name=name,
        steps=((None, "green"), (1, "red")),
    )


def alert_list(at: Grid) -> dashboard_builders.Panel:
    """Grafana's list of brandmon's Grafana-managed alerts (firing, pending, no data, error).

    It reads Grafana's own rule state, not a data source, so it is the one panel without a query.
    """
    options = {
        "viewMode": "list",
        "groupMode": "default",
        "groupBy": [],
        "maxItems": 10,
        "sortOrder": 3,
        "dashboardAlerts": False,
        "alertName": "",
        "alertInstanceLabelFilter": ALERT_LABEL_FILTER,
        "datasource": "",
        "folder": {"uid": FOLDER_UID, "title": FOLDER_TITLE},
        "showInstances": True,
        "stateFilter": {"firing": True, "pending": True, "noData": True, "normal": False, "error": True},
    }
    panel = (
        dashboard_builders.Panel()
        .type("alertlist")
        .title("Firing alerts")
        .description("Grafana-managed brandmon alerts: rumour spikes, sources down, pipeline lag or stall.")
        .options(options)
    )
    place(panel, at)
    return panel
