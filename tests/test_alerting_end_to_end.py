"""A rumour burst through everything real: broker -> worker -> Prometheus rule -> Alertmanager -> webhook.

The shipped alert rules are loaded as they are, with their `for:` durations shortened so the test
takes seconds instead of minutes; the expressions, labels and annotations are the ones on-call
engineers get.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from brandmon.broker import free_port
from brandmon.config import load_config
from brandmon.demo import DEMO_SPIKE_SETTINGS
from brandmon.settings import Settings
from connectors.live_simulation import SimulationPlan, build_simulator
from tests.conftest import REPO, wait_for
from tests.kafka_helpers import publish
from tests.monitoring import alertmanager, prometheus

pytestmark = pytest.mark.broker
ALERT_RULES = REPO / "deploy" / "prometheus" / "rules" / "brandmon-alerts.yml"
DEMO = REPO / "brandmon" / "demo.yaml"


class Receiver(BaseHTTPRequestHandler):
    deliveries: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.deliveries.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.deliveries = []
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/alerts"
    server.shutdown()
    server.server_close()


def fast_rules(directory: Path) -> Path:
    """The shipped alert rules with every `for:` cut to one second."""
    if not ALERT_RULES.exists():
        pytest.skip(f"{ALERT_RULES} not written yet")
    text = re.sub(r"(?m)^(\s*for:\s*).*$", r"\g<1>1s", ALERT_RULES.read_text())
    path = directory / "brandmon-alerts.yml"
    path.write_text(text)
    return path


def test_a_rumour_burst_reaches_the_on_call_webhook_with_brand_summary_and_dashboard(
    settings: Settings, start_worker, receiver: str, tmp_path: Path
) -> None:
    config = load_config(DEMO)
    worker = start_worker(
        **{**DEMO_SPIKE_SETTINGS, "BRANDMON_SPIKE_RESOLVE_SECONDS": "300", "BRANDMON_CONFIG": str(DEMO)}
    )
    routing = {
        "route": {
            "receiver": "test",
            "group_by": ["alertname", "brand"],
            "group_wait": "1s",
            "group_interval": "1s",
        },
        "receivers": [{"name": "test", "webhook_configs": [{"url": receiver, "send_resolved": False}]}],
    }
    with (
        alertmanager(tmp_path / "am", routing) as am,
        prometheus(
            tmp_path / "prom", [f"127.0.0.1:{worker.metrics_port}"], [fast_rules(tmp_path)], am
        ) as prom,
    ):
        now = datetime.now(UTC)
        plan = SimulationPlan(
            seed=3,
            burst_after=-60,
            history_seconds=2400,
            burst_ramp_seconds=20,
            burst_seconds=600,
            burst_peak_per_second=10.0,
        )
        mentions = build_simulator(config, plan, now).between(
            now - timedelta(seconds=plan.history_seconds), now
        )
        asyncio.run(publish(settings, mentions))

        def delivered() -> bool:
            return any(
                alert["labels"].get("alertname") == "BrandRumourSpike"
                for delivery in Receiver.deliveries
                for alert in delivery["alerts"]
            )

        try:
            wait_for(delivered, 90, "BrandRumourSpike at the webhook")
        except AssertionError:
            firing = prom.query("brandmon_alerts_active == 1")
            raise AssertionError(f"active gauges: {firing}; prometheus alerts: {prom.alerts()}") from None
    alert = next(
        a for d in Receiver.deliveries for a in d["alerts"] if a["labels"]["alertname"] == "BrandRumourSpike"
    )
    assert alert["labels"]["brand"] == "brewbird"
    assert alert["status"] == "firing"
    assert (
        "brewbird" in alert["annotations"]["summary"].lower() or "Brewbird" in alert["annotations"]["summary"]
    )
    assert "brewbird" in alert["annotations"]["dashboard_url"]
    # Reading 40 minutes of history with the demo's 3 s lateness may raise the info-level
    # LateMentions for any brand on a loaded machine; info pages no one.
    paging_others = [
        a["labels"]
        for d in Receiver.deliveries
        for a in d["alerts"]
        if a["labels"].get("brand") not in (None, "brewbird") and a["labels"].get("severity") != "info"
    ]
    assert not paging_others, "only the brand with the rumour pages anyone"


def test_monitoring_servers_start_and_scrape(tmp_path: Path) -> None:
    """The harness itself: Prometheus scrapes a target and answers queries."""
    with prometheus(tmp_path, [f"127.0.0.1:{free_port()}"]) as prom:
        wait_for(lambda: bool(prom.query("up")), 10, "a first scrape")
        assert prom.query("up")[0]["value"][1] == "0", "nothing listens on that port"
