"""Grafana as code: the committed provisioning files are what the demo config generates, they
decode into grafana-foundation-sdk's Grafana 11.6 models, the wall fits a TV screen, and every
PromQL expression of every panel, annotation and alert rule runs on a real Prometheus.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.models.alerting import Rule
from grafana_foundation_sdk.models.dashboard import Dashboard
from prometheus_client import CollectorRegistry, start_http_server

from brandmon.broker import free_port
from brandmon.config import BrandmonConfig, load_config
from brandmon.grafana_annotations import PrometheusAnnotation
from brandmon.grafana_dashboards import (
    TV_URL,
    dashboards,
    playlist,
    queries,
    to_json,
    variable_values,
    write_provisioning,
)
from brandmon.grafana_panels import DATASOURCE_UID, FOLDER_UID
from brandmon.grafana_wall import SCREEN_ROWS
from connectors.health import SourceMetrics
from streams.metrics import StreamMetrics
from tests.conftest import REPO
from tests.monitoring import Prometheus, prometheus

DEMO = REPO / "brandmon" / "demo.yaml"
COMMITTED = REPO / "deploy" / "grafana" / "provisioning"
PROMETHEUS_REF = {"type": "prometheus", "uid": DATASOURCE_UID}
GRAFANA_BUILTINS = {"__rate_interval", "__interval", "__range"}
STABLE_UIDS = {
    "brandmon-wall",
    "brandmon-brand",
    "brandmon-pipeline",
    *(f"bm-{b}" for b in ("brewbird", "kaffeklubben", "bohnenwerk", "voltride", "trundl", "elroller")),
}


@pytest.fixture(scope="module")
def config() -> BrandmonConfig:
    return load_config(DEMO)


@pytest.fixture(scope="module")
def boards(config: BrandmonConfig) -> dict[str, dict[str, Any]]:
    return {str(board.uid): to_json(board) for board in dashboards(config)}


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for panel in board["panels"] for p in [panel, *panel.get("panels", [])]]


def many_brands(count: int) -> BrandmonConfig:
    brands = [{"id": f"b{i}", "name": f"Brand {i}", "aliases": [f"brand{i}"]} for i in range(count)]
    return BrandmonConfig.model_validate({"brands": brands})


def test_committed_files_are_what_the_demo_config_generates(tmp_path: Path, config: BrandmonConfig) -> None:
    generated = {
        p.relative_to(tmp_path).as_posix(): p.read_text() for p in write_provisioning(config, tmp_path)
    }
    committed = {
        p.relative_to(COMMITTED).as_posix(): p.read_text() for p in COMMITTED.rglob("*") if p.is_file()
    }
    assert sorted(generated) == sorted(committed)
    for name, text in generated.items():
        assert committed[name] == text, f"{name} is stale: brandmon grafana generate --out {COMMITTED}"


def test_uids_are_stable_and_generation_deterministic(config: BrandmonConfig, boards: dict[str, Any]) -> None:
    assert set(boards) == STABLE_UIDS
    assert {str(b.uid): to_json(b) for b in dashboards(config)} == boards
    for board in boards.values():
        assert 8 <= len(board["uid"]) <= 40
        ids = [p["id"] for p in panels(board)]
        assert ids == list(range(1, len(ids) + 1)), "panel ids number the panels in order"


def test_dashboards_decode_into_the_sdk_models_without_losing_anything(boards: dict[str, Any]) -> None:
    for uid, board in boards.items():
        expected = copy.deepcopy(board)
        for annotation in expected["annotations"].get("list", []):
            for key in PrometheusAnnotation.EXTRA_KEYS & annotation.keys():
                del annotation[key]  # Prometheus annotation fields the SDK model does not carry
        assert to_json(Dashboard.from_json(board)) == expected, uid


def test_every_panel_reads_the_provisioned_prometheus_with_a_query(boards: dict[str, Any]) -> None:
    for uid, board in boards.items():
        for panel in panels(board):
            assert panel.get("title"), (uid, panel["id"])
            assert panel.get("description"), (uid, panel["title"])
            if panel["type"] == "alertlist":  # Grafana's own alert state: no data source to query
                assert panel["options"]["alertInstanceLabelFilter"] == '{service="brandmon"}'
                continue
            assert panel["datasource"] == PROMETHEUS_REF, (uid, panel["title"])
            assert panel["targets"], (uid, panel["title"])
            refs = [t["refId"] for t in panel["targets"]]
            assert len(set(refs)) == len(refs)
            for query in panel["targets"]:
                assert query["datasource"] == PROMETHEUS_REF
                assert query["expr"].strip()


def test_the_wall_fits_one_screen_in_large_type_for_a_tv(
    config: BrandmonConfig, boards: dict[str, Any]
) -> None:
    wall = boards["brandmon-wall"]
    cells: set[tuple[int, int]] = set()
    for panel in panels(wall):
        assert panel["type"] != "row"
        grid = panel["gridPos"]
        assert grid["y"] + grid["h"] <= SCREEN_ROWS, f"{panel['title']} is below the first screen"
        assert grid["x"] + grid["w"] <= 24
        assert grid["h"] >= 3
        area = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not area & cells, f"{panel['title']} overlaps another panel"
        cells |= area
        if panel["type"] == "stat":
            assert panel["options"]["text"]["valueSize"] >= 40, "readable from 5 m"
            assert panel["options"]["colorMode"] in {"background", "value"}
    names = {p["fieldConfig"]["defaults"].get("displayName") for p in panels(wall) if p["type"] == "stat"}
    assert {brand.name for brand in config.brands} <= names
    assert [p["type"] for p in panels(wall)].count("alertlist") == 1
    assert wall["editable"] is False
    assert wall["timepicker"]["hidden"] is True
    assert wall["refresh"] == "30s"
    assert any("kiosk" in link["url"] and "theme=dark" in link["url"] for link in wall["links"])
    assert TV_URL.endswith("?kiosk&theme=dark")


def test_many_brands_get_more_wall_pages_each_on_one_screen() -> None:
    config = many_brands(14)
    walls = [to_json(b) for b in dashboards(config) if str(b.uid).startswith("brandmon-wall")]
    assert [w["uid"] for w in walls] == ["brandmon-wall", "brandmon-wall-2", "brandmon-wall-3"]
    for wall in walls:
        assert max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels(wall)) <= SCREEN_ROWS
    rotated = [item["value"] for item in playlist(config)["items"]]
    assert {"brandmon-wall-3", "bm-b13"} <= set(rotated)


def test_the_playlist_shows_the_wall_before_each_brand(
    config: BrandmonConfig, boards: dict[str, Any]
) -> None:
    items = playlist(config)["items"]
    uids = [item["value"] for item in items]
    assert uids[0::2] == ["brandmon-wall"] * len(config.brands)
    assert uids[1::2] == [f"bm-{brand.id}" for brand in config.brands]
    assert set(uids) <= set(boards)
    assert {item["type"] for item in items} == {"dashboard_by_uid"}


def test_template_variables_resolve(config: BrandmonConfig, boards: dict[str, Any]) -> None:
    detail = boards["brandmon-brand"]
    (variable,) = detail["templating"]["list"]
    assert variable["query"] == "label_values(brandmon_mentions_total, brand)"
    assert variable["datasource"] == PROMETHEUS_REF
    assert variable_values(detail) == {"brand": config.brands[0].id}
    for brand in config.brands:
        assert variable_values(boards[f"bm-{brand.id}"]) == {"brand": brand.id}
    for uid, board in boards.items():
        defined = set(variable_values(board)) | GRAFANA_BUILTINS
        text = str([panels(board), board["annotations"], board.get("links", [])])
        used = {a or b for a, b in re.findall(r"\$\{(\w+)\}|\$(\w+)", text)}
        assert used <= defined, (uid, used - defined)
        for expr in queries(board):
            assert "$" not in expr, (uid, expr)


def test_share_of_voice_compares_each_configured_competitor_group(
    config: BrandmonConfig, boards: dict[str, Any]
) -> None:
    (share,) = [p for p in panels(boards["brandmon-brand"]) if p["title"].startswith("Share of voice")]
    expr = share["targets"][0]["expr"]
    for members in config.competitor_groups().values():
        assert f'brand=~"{"|".join(members)}"' in expr


def test_alert_rules_link_existing_panels_and_decode_into_the_sdk_model(boards: dict[str, Any]) -> None:
    rules_file = yaml.safe_load((COMMITTED / "alerting" / "brandmon-rules.yml").read_text())
    (group,) = rules_file["groups"]
    assert group["folder"] == FOLDER_UID
    titles = {r["title"] for r in group["rules"]}
    assert titles == {"BrandRumourSpike", "SourceDown", "PipelineLag", "WorkerDown"}, "Prometheus' names"
    for rule in group["rules"]:
        refs = {query["refId"] for query in rule["data"]}
        assert rule["condition"] in refs
        assert {q["datasourceUid"] for q in rule["data"]} <= {DATASOURCE_UID, "__expr__"}
        assert rule["panelId"] in {p["id"] for p in panels(boards[rule["dashboardUid"]])}
        assert rule["labels"]["service"] == "brandmon"
        api_shape = {
            **{k: v for k, v in rule.items() if k not in {"dashboardUid", "panelId"}},
            "annotations": {
                **rule["annotations"],
                "__dashboardUid__": rule["dashboardUid"],
                "__panelId__": str(rule["panelId"]),
            },
            "folderUID": FOLDER_UID,
            "orgID": 1,
            "ruleGroup": group["name"],
        }
        assert to_json(Rule.from_json(api_shape)) == api_shape


def alert_rule_queries() -> list[str]:
    rules_file = yaml.safe_load((COMMITTED / "alerting" / "brandmon-rules.yml").read_text())
    return [
        q["model"]["expr"]
        for r in rules_file["groups"][0]["rules"]
        for q in r["data"]
        if "expr" in q["model"]
    ]


@pytest.fixture
def exporter(config: BrandmonConfig) -> Iterator[tuple[str, StreamMetrics, SourceMetrics]]:
    """brandmon's real metrics classes on a private registry, served on loopback."""
    registry = CollectorRegistry()
    stream = StreamMetrics([b.id for b in config.brands], registry)
    sources = SourceMetrics(registry)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    yield f"127.0.0.1:{port}", stream, sources
    server.shutdown()
    server.server_close()
    thread.join(5)


def scraped(prom: Prometheus, times: int) -> bool:
    """Whether Prometheus has scraped the exporter `times` times (its first scrape can take 5 s)."""
    samples = prom.query("count_over_time(brandmon_build_info[1m])")
    return bool(samples) and float(samples[0]["value"][1]) >= times


def value(prom: Prometheus, expr: str) -> float:
    (sample,) = prom.query(expr)
    return float(sample["value"][1])


def test_every_query_runs_on_a_real_prometheus_and_computes_what_it_says(
    tmp_path: Path, boards: dict[str, Any], exporter: tuple[str, StreamMetrics, SourceMetrics]
) -> None:
    target, stream, sources = exporter
    now = time.time()
    stream.spike_observed.labels("brewbird").set(30)
    stream.spike_expected.labels("brewbird").set(6)
    stream.spike_score.labels("brewbird").set(0.999)
    stream.alerts_active.labels("brewbird", "high").set(1)
    stream.alerts_active.labels("brewbird", "low").set(0)
    stream.alerts.labels("brewbird", "opened").inc()
    stream.observe_partition(0, 42, now - 10, now - 1)
    rss, bluesky = sources.for_source("news"), sources.for_source("bluesky")
    sources.last_success.labels("news").set(now - 7200)
    bluesky.success()
    with prometheus(tmp_path / "prometheus", [target]) as prom:
        deadline = time.monotonic() + 60
        while not scraped(prom, times=4):  # counters moving across several 1 s scrapes
            assert time.monotonic() < deadline, "Prometheus did not scrape the exporter"
            for sentiment, count in (("positive", 3), ("negative", 1), ("neutral", 1), ("none", 5)):
                stream.mentions.labels("brewbird", "mastodon", sentiment).inc(count)
            stream.mentions.labels("kaffeklubben", "rss", "neutral").inc(2)
            stream.mentions.labels("bohnenwerk", "rss", "positive").inc(1)
            stream.mentions.labels("voltride", "bluesky", "none").inc(1)
            stream.compound.labels("brewbird").observe(0.5)
            rss.error("http_5xx")
            bluesky.published(2, 0)
            stream.observe_partition(0, 42 + int(time.monotonic() * 10), time.time() - 10, time.time() - 1)
            time.sleep(0.25)
        expressions = [e for board in boards.values() for e in queries(board, brand="brewbird")]
        expressions += alert_rule_queries()
        for expr in dict.fromkeys(expressions):
            prom.query(expr)  # raises on a syntax or evaluation error
        boards_brewbird = queries(boards["bm-brewbird"])
        net, share = boards_brewbird[3], next(e for e in boards_brewbird if "group_left" in e)
        assert value(prom, net) == pytest.approx(0.4, abs=0.02), "(3 - 1) / 5 scored; 'none' left out"
        shares = {s["metric"]["brand"]: float(s["value"][1]) for s in prom.query(share)}
        assert set(shares) == {"brewbird", "kaffeklubben", "bohnenwerk"}
        assert sum(shares.values()) == pytest.approx(1.0)
        assert shares["brewbird"] == pytest.approx(10 / 13, abs=0.02)
        (voltride_share,) = prom.query(next(e for e in queries(boards["bm-voltride"]) if "group_left" in e))
        assert voltride_share["metric"]["brand"] == "voltride"
        wall = queries(boards["brandmon-wall"], brand="brewbird")
        assert value(prom, wall[1]) == pytest.approx(5.0), "30 authors where 6 are usual"
        assert value(prom, wall[3]) == 3, "worst open alert: high"
        assert value(prom, queries(boards["bm-kaffeklubben"])[4]) == 0, "no alert series: calm"
        assert value(prom, "time() - max(brandmon_stream_last_event_timestamp_seconds)") >= 10
        assert value(prom, wall[-1]) == 1, "news silent for 2 h; bluesky fine"
        spike, down, lag, _ = alert_rule_queries()
        assert [(s["metric"], s["value"][1]) for s in prom.query(spike)] == [({"brand": "brewbird"}, "3")]
        assert [s["metric"]["source"] for s in prom.query(down)] == ["news"]
        assert [s["metric"]["partition"] for s in prom.query(lag)] == ["0"]
