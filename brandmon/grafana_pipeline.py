"""Pipeline health: is brandmon itself working? For whoever is on call for the pipeline.

Top row: the numbers the alerts use. Then the stream worker (throughput, per-partition progress,
lag and event-time age, dead letters, duplicates, late and future mentions) and the connectors
(last success, items, errors by kind, backoff), so "the brand went quiet" can be told apart
from "the source is down" and "the worker is stuck".
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dashboard_builders

from brandmon import grafana_tiles as tiles
from brandmon.grafana_connectors import connector_panels
from brandmon.grafana_panels import PanelBuilder, graph, stat_tile
from brandmon.grafana_tiles import STALE_SECONDS

PIPELINE_UID = "brandmon-pipeline"
RATE = "$__rate_interval"
LAG_LIMIT_SECONDS = 30
"""Processing lag at which PipelineLag fires (as in deploy/prometheus/rules); graphs draw it."""
AGE_TITLE, LAG_TITLE = "Data age", "Processing lag per partition"
"""Panels the alert rules link to."""


def _per_minute(metric: str, by: str = "") -> str:
    total = f"sum by ({by}) " if by else "sum"
    return f"60 * {total}(rate({metric}[{RATE}]))"


def _tiles() -> list[PanelBuilder]:
    return [
        tiles.data_age((0, 0, 4, 4)),
        stat_tile(
            "Processing lag",
            "Worst partition: processing time minus fetch time of its newest mention.",
            "max(brandmon_stream_lag_seconds)",
            (4, 0, 4, 4),
            unit="s",
            steps=((None, "green"), (LAG_LIMIT_SECONDS / 5, "orange"), (LAG_LIMIT_SECONDS, "red")),
            decimals=1,
        ),
        stat_tile(
            "Matched mentions/s",
            "All brands, last 5 minutes.",
            "sum(rate(brandmon_mentions_total[5m])) or vector(0)",
            (8, 0, 4, 4),
            instant=False,
            decimals=1,
        ),
        stat_tile(
            "Dead letters (1 h)",
            "Raw values or mentions sent to brandmon.mentions.dlq.v1 in the last hour.",
            "sum(increase(brandmon_dlq_total[1h])) or vector(0)",
            (12, 0, 4, 4),
            steps=((None, "green"), (1, "orange")),
            decimals=0,
        ),
        tiles.sources_down((16, 0, 4, 4)),
        stat_tile(
            "Version",
            "brandmon_build_info of the running workers.",
            "brandmon_build_info",
            (20, 0, 4, 4),
            legend="{{version}} (Python {{python}})",
            value_size=24,
        ),
    ]


def _worker() -> list[PanelBuilder]:
    late, future = "brandmon_late_mentions_total", "brandmon_future_mentions_total"
    return [
        graph(
            "Throughput",
            "Per second: mentions read by each connector source, and matched to a brand by the worker.",
            [
                (f"sum(rate(brandmon_mentions_total[{RATE}]))", "matched (all brands)"),
                (f"sum by (source) (rate(brandmon_source_items_total[{RATE}]))", "read: {{source}}"),
            ],
            (0, 4, 12, 8),
            unit="ops",
        ),
        graph(
            "Raw messages per partition",
            "Offsets processed per second; a raw message carries a batch of mentions.",
            [
                (
                    f"max by (partition) (deriv(brandmon_stream_processed_offset[{RATE}]))",
                    "partition {{partition}}",
                )
            ],
            (12, 4, 12, 8),
            unit="ops",
        ),
        graph(
            LAG_TITLE,
            f"Processing time minus fetch time of the newest mention; PipelineLag fires above "
            f"{LAG_LIMIT_SECONDS} s on a partition moving or with messages waiting, for a minute.",
            [("max by (partition) (brandmon_stream_lag_seconds)", "partition {{partition}}")],
            (0, 12, 12, 8),
            unit="s",
            limit_line=LAG_LIMIT_SECONDS,
        ),
        graph(
            "Event-time age per partition",
            f"Now minus the event time of each partition's newest mention. Above {STALE_SECONDS} s with "
            "the offset standing still while sources publish: StuckConsumer (Prometheus).",
            [
                (
                    "time() - max by (partition) (brandmon_stream_last_event_timestamp_seconds)",
                    "partition {{partition}}",
                )
            ],
            (12, 12, 12, 8),
            unit="s",
            limit_line=STALE_SECONDS,
        ),
        graph(
            "Dead letters by reason",
            "Per minute.",
            [(_per_minute("brandmon_dlq_total", "reason"), "{{reason}}")],
            (0, 20, 8, 8),
            unit="cpm",
            stacked=True,
        ),
        graph(
            "Duplicates, deletions, replays",
            "Per minute. Duplicates: ids seen recently; replays: window updates skipped after a restart.",
            [
                (_per_minute("brandmon_duplicates_total"), "duplicates"),
                (_per_minute("brandmon_deletions_total"), "deletions"),
                (_per_minute("brandmon_replays_skipped_total"), "replays skipped"),
            ],
            (8, 20, 8, 8),
            unit="cpm",
        ),
        graph(
            "Late and future mentions",
            "Per minute by brand. Late: after the spike bucket closed; future: over an hour ahead.",
            [
                (_per_minute(late, "brand"), "late {{brand}}"),
                (_per_minute(future, "brand"), "future {{brand}}"),
            ],
            (16, 20, 8, 8),
            unit="cpm",
        ),
    ]


def pipeline_health() -> dashboard_builders.Dashboard:
    """The pipeline dashboard; no variables: every series is brandmon's own."""
    board = dashboard_builders.Dashboard("Brandmon pipeline health").uid(PIPELINE_UID).tags(["brandmon"])
    board = board.time("now-6h", "now").refresh("1m")
    for panel in [*_tiles(), *_worker(), *connector_panels(28)]:
        board = board.with_panel(panel)
    return board
