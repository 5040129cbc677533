"""The Prometheus and Alertmanager files under `deploy/`, checked by the real tools.

promtool validates the Prometheus config and every rule file and runs the rule unit tests in
`deploy/prometheus/tests/`; amtool validates the Alertmanager config and its routing; a real
Alertmanager shows the inhibitions work. The generated share-of-voice rules must match the
generator's output for `brandmon/demo.yaml`. The tools come from Debian packages that `make test`
installs; a test skips, naming the package, only when its binary is missing.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from brandmon.config import load_config, parse_config
from brandmon.prometheus_rules import (
    SHARE_OF_VOICE_FILE,
    SHARE_OF_VOICE_RECORD,
    render_rules,
    share_of_voice_rules,
    write_rules,
)
from tests import monitoring

REPO = Path(__file__).resolve().parents[1]
PROMETHEUS_DIR = REPO / "deploy" / "prometheus"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
RULES_DIR = PROMETHEUS_DIR / "rules"
ALERT_RULES = RULES_DIR / "brandmon-alerts.yml"
RULE_FILES = sorted(RULES_DIR.glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))
ALERTMANAGER_CONFIG = REPO / "deploy" / "alertmanager" / "alertmanager.yml"
DEMO_CONFIG = REPO / "brandmon" / "demo.yaml"
SEVERITIES = {"critical", "warning", "info"}


def binary(*names: str, package: str) -> str:
    """Path of the first of `names` on PATH, else skip naming the Debian package that has it."""
    for name in names:
        found = shutil.which(name)
        if found is not None:
            return found
    pytest.skip(f"{names[0]} is not installed (Debian package {package}; `make test` installs it)")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def assert_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, f"{' '.join(result.args)}\n{result.stdout}\n{result.stderr}"


def alert_rules() -> list[dict[str, Any]]:
    data = yaml.safe_load(ALERT_RULES.read_text())
    return [rule for group in data["groups"] for rule in group["rules"] if "alert" in rule]


def alert_tests() -> list[dict[str, Any]]:
    """Every `alert_rule_test` case of every promtool test file."""
    cases = []
    for path in RULE_TESTS:
        for group in yaml.safe_load(path.read_text())["tests"]:
            cases += group.get("alert_rule_test", [])
    return cases


# --- promtool --------------------------------------------------------------------------------


def test_prometheus_config_is_valid() -> None:
    """`promtool check config` needs no running target; it also checks the rule files it names."""
    promtool = binary("promtool", package="prometheus")
    assert_ok(run(promtool, "check", "config", str(PROMETHEUS_CONFIG)))


def test_prometheus_config_loads_every_rule_file() -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    loaded = {(PROMETHEUS_DIR / name).resolve() for name in config["rule_files"]}
    assert loaded == {path.resolve() for path in RULE_FILES}


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_rule_file_is_valid(path: Path) -> None:
    promtool = binary("promtool", package="prometheus")
    result = run(promtool, "check", "rules", str(path))
    assert_ok(result)
    assert "duplicate" not in (result.stdout + result.stderr).lower()


@pytest.mark.parametrize("path", RULE_TESTS, ids=lambda p: p.name)
def test_promtool_rule_tests_pass(path: Path) -> None:
    promtool = binary("promtool", package="prometheus")
    assert_ok(run(promtool, "test", "rules", str(path)))


def test_every_alert_is_tested_firing_and_quiet() -> None:
    """Each alert has a promtool case that expects it to fire and one that expects silence."""
    names = {rule["alert"] for rule in alert_rules()}
    cases = alert_tests()
    fires = {case["alertname"] for case in cases if case.get("exp_alerts")}
    quiet = {case["alertname"] for case in cases if not case.get("exp_alerts")}
    assert names - fires == set(), "alerts no promtool test expects to fire"
    assert names - quiet == set(), "alerts no promtool test expects to stay quiet"
    assert (fires | quiet) - names == set(), "promtool tests of alerts that do not exist"


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda r: f"{r['alert']}-{r['labels']['severity']}")
def test_alert_rule_conventions(rule: dict[str, Any]) -> None:
    assert rule["labels"]["severity"] in SEVERITIES
    assert rule.get("for"), "every alert waits (`for:`) before it fires"
    assert {"summary", "description"} <= set(rule["annotations"])
    if "$labels.brand" in rule["annotations"]["summary"]:
        assert "brand={{ $labels.brand }}" in rule["annotations"]["dashboard_url"]


# --- share of voice --------------------------------------------------------------------------


def test_committed_share_of_voice_rules_match_the_demo_config() -> None:
    committed = (RULES_DIR / SHARE_OF_VOICE_FILE).read_text()
    assert committed == render_rules(load_config(DEMO_CONFIG)), (
        f"{RULES_DIR / SHARE_OF_VOICE_FILE} is out of date: regenerate it with "
        "brandmon.prometheus_rules.write_rules(load_config(Path('brandmon/demo.yaml')), "
        "Path('deploy/prometheus/rules'))"
    )


def test_share_of_voice_rules_one_per_group() -> None:
    config = parse_config(
        """\
brands:
  - {id: acme, name: Acme, aliases: [acme], competitors: tools}
  - {id: initech, name: Initech, aliases: [initech]}
  - {id: globex, name: Globex, aliases: [globex], competitors: tools}
  - {id: hooli, name: Hooli, aliases: [hooli], competitors: search}
  - {id: pied-piper, name: Pied Piper, aliases: [pied piper], competitors: search}
"""
    )
    (group,) = share_of_voice_rules(config)["groups"]
    rules = group["rules"]
    assert [rule["labels"] for rule in rules] == [{"competitors": "tools"}, {"competitors": "search"}]
    assert {rule["record"] for rule in rules} == {SHARE_OF_VOICE_RECORD}
    assert 'brand=~"acme|globex"' in rules[0]["expr"]
    assert 'brand=~"hooli|pied-piper"' in rules[1]["expr"]
    assert "initech" not in render_rules(config)


def test_share_of_voice_without_groups_is_an_empty_group() -> None:
    config = parse_config("brands:\n  - {id: acme, name: Acme, aliases: [acme]}\n")
    assert share_of_voice_rules(config) == {"groups": [{"name": "brandmon-share-of-voice", "rules": []}]}


def test_write_rules_writes_the_rendered_file(tmp_path: Path) -> None:
    config = load_config(DEMO_CONFIG)
    path = write_rules(config, tmp_path / "rules")
    assert path == tmp_path / "rules" / SHARE_OF_VOICE_FILE
    assert path.read_text() == render_rules(config)
    promtool = binary("promtool", package="prometheus")
    assert_ok(run(promtool, "check", "rules", str(path)))


# --- Alertmanager ----------------------------------------------------------------------------


def test_alertmanager_config_is_valid() -> None:
    """amtool accepts it although the secret files under /etc/brandmon/secrets do not exist:
    Alertmanager reads them only when it sends a notification."""
    amtool = binary("amtool", package="prometheus-alertmanager")
    assert_ok(run(amtool, "check-config", str(ALERTMANAGER_CONFIG)))


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        ("alertname=BrandRumourSpike severity=critical brand=brewbird", "oncall-pagerduty,coffee-team"),
        ("alertname=BrandRumourSpike severity=warning brand=brewbird", "coffee-team"),
        ("alertname=BrandGoneSilent severity=warning class=volume_drop brand=voltride", "scooter-team"),
        ("alertname=NegativeSentimentSurge severity=warning brand=acme", "brand-slack"),
        ("alertname=LateMentions severity=info brand=brewbird", "ticket-webhook"),
        ("alertname=SourceDown severity=warning class=ingest_down source=news-rss", "ops-slack"),
        (
            "alertname=WorkerDown severity=critical class=ingest_down instance=w:9466",
            "oncall-pagerduty,ops-slack",
        ),
        ("alertname=DLQGrowth severity=warning reason=invalid_json", "ops-slack"),
    ],
)
def test_alertmanager_routes(labels: str, receivers: str) -> None:
    amtool = binary("amtool", package="prometheus-alertmanager")
    result = run(amtool, "config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}", *labels.split())
    assert_ok(result)
    assert result.stdout.strip() == receivers


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    """A real Alertmanager with the config's routes and inhibitions, its receivers emptied so it
    never sends anything; yields its base URL."""
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    config["receivers"] = [{"name": receiver["name"]} for receiver in config["receivers"]]
    with monitoring.alertmanager(tmp_path, config) as address:
        yield f"http://{address}"


def post_alerts(url: str, *alerts: dict[str, str], resolved: bool = False) -> None:
    body: list[dict[str, Any]] = [{"labels": labels, "annotations": {"summary": "test"}} for labels in alerts]
    if resolved:
        for alert in body:
            alert["endsAt"] = "2000-01-01T00:00:00Z"
    httpx.post(f"{url}/api/v2/alerts", json=body, timeout=5).raise_for_status()


def states(url: str) -> dict[tuple[str, str], str]:
    """`active` or `suppressed` by (alertname, severity/brand/source) of the firing alerts."""
    found = {}
    for alert in httpx.get(f"{url}/api/v2/alerts", timeout=5).json():
        labels = alert["labels"]
        key = labels.get("brand") or labels.get("source", "")
        found[labels["alertname"], f"{labels['severity']}/{key}"] = alert["status"]["state"]
    return found


def wait_for_states(url: str, expected: dict[tuple[str, str], str]) -> None:
    deadline = time.monotonic() + 10
    while (current := states(url)) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert current == expected


def test_alertmanager_inhibitions(alertmanager: str) -> None:
    silent = {
        "alertname": "BrandGoneSilent",
        "severity": "warning",
        "class": "volume_drop",
        "brand": "brewbird",
    }
    source_down = {
        "alertname": "SourceDown",
        "severity": "warning",
        "class": "ingest_down",
        "source": "news-rss",
    }
    spike = {"alertname": "BrandRumourSpike", "brand": "brewbird"}
    other_spike = {"alertname": "BrandRumourSpike", "brand": "voltride", "severity": "warning"}
    post_alerts(
        alertmanager,
        silent,
        source_down,
        {**spike, "severity": "warning"},
        {**spike, "severity": "critical"},
        other_spike,
    )
    wait_for_states(
        alertmanager,
        {
            # Any ingest_down alert mutes every volume_drop alert: no shared label needed.
            ("BrandGoneSilent", "warning/brewbird"): "suppressed",
            ("SourceDown", "warning/news-rss"): "active",
            # The critical spike mutes the warning one of the same brand only.
            ("BrandRumourSpike", "warning/brewbird"): "suppressed",
            ("BrandRumourSpike", "critical/brewbird"): "active",
            ("BrandRumourSpike", "warning/voltride"): "active",
        },
    )
    post_alerts(alertmanager, source_down, {**spike, "severity": "critical"}, resolved=True)
    wait_for_states(
        alertmanager,
        {
            ("BrandGoneSilent", "warning/brewbird"): "active",
            ("BrandRumourSpike", "warning/brewbird"): "active",
            ("BrandRumourSpike", "warning/voltride"): "active",
        },
    )
