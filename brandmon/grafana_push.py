"""`brandmon grafana push`: dashboards into a running Grafana, and an annotation per alert change.

Uses grafana-client (optional extra `grafana`: it brings its own HTTP stack, kept out of the
worker's install) with a service-account token read from an environment variable or file. The
dashboards are the generated provisioning JSON in `deploy/grafana/provisioning/dashboards/json/`,
uploaded into one folder with overwrite, so a push is repeatable. With `--annotate`, every alert
opened or resolved on `brandmon.alerts.v1` becomes an annotation on the brand detail dashboard,
tagged with the brand, severity and state, so the wall and the detail graphs show when it began.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import orjson

from brandmon.schemas import Alert

FOLDER_UID = "brandmon"
BRAND_DASHBOARD_UID = "brandmon-brand"


class FolderApi(Protocol):
    def get_all_folders(self) -> Any: ...
    def create_folder(self, title: str, uid: str | None = None) -> Any: ...


class DashboardApi(Protocol):
    def update_dashboard(self, dashboard: dict[str, Any]) -> Any: ...


class AnnotationsApi(Protocol):
    def add_annotation(
        self,
        dashboard_uid: str | None = None,
        time_from: int | None = None,
        time_to: int | None = None,
        tags: list[str] | None = None,
        text: str | None = None,
    ) -> Any: ...


class GrafanaLike(Protocol):
    """The part of `grafana_client.GrafanaApi` brandmon uses."""

    @property
    def folder(self) -> FolderApi: ...
    @property
    def dashboard(self) -> DashboardApi: ...
    @property
    def annotations(self) -> AnnotationsApi: ...


def connect(url: str, token: str) -> GrafanaLike:
    try:
        from grafana_client import GrafanaApi
    except ImportError:
        raise RuntimeError("grafana-client is not installed: pip install 'brandmon[grafana]'") from None
    api: GrafanaLike = GrafanaApi.from_url(url=url, credential=token)
    return api


def dashboards(directory: Path) -> list[dict[str, Any]]:
    """The generated dashboard JSON files, in name order."""
    return [orjson.loads(path.read_bytes()) for path in sorted(directory.glob("*.json"))]


def push_dashboards(
    api: GrafanaLike, items: Iterable[dict[str, Any]], folder_title: str = "brandmon"
) -> list[str]:
    """Ensure the folder exists and upload every dashboard into it (overwriting); their uids."""
    folders = api.folder.get_all_folders() or []
    if not any(folder.get("uid") == FOLDER_UID for folder in folders):
        api.folder.create_folder(folder_title, uid=FOLDER_UID)
    uids = []
    for dashboard in items:
        body = {key: value for key, value in dashboard.items() if key != "id"}
        api.dashboard.update_dashboard(
            {
                "dashboard": body,
                "folderUid": FOLDER_UID,
                "overwrite": True,
                "message": "brandmon grafana push",
            }
        )
        uids.append(str(body.get("uid")))
    return uids


def annotation_for(alert: Alert) -> dict[str, Any] | None:
    """The annotation of an alert that opened or resolved (updates are not annotated)."""
    if alert.state == "updated":
        return None
    moment = alert.first_seen if alert.state == "opened" else alert.bucket_start
    terms = ", ".join(term.term for term in alert.driving_terms[:3]) or "volume"
    text = (
        f"{alert.state.upper()} {alert.severity} rumour spike: {alert.brand_name} '{alert.topic}' "
        f"({alert.observed} authors vs {alert.expected:.0f} expected; terms: {terms})"
    )
    return {
        "dashboard_uid": BRAND_DASHBOARD_UID,
        "time_from": int(moment.timestamp() * 1000),
        "tags": ["brandmon", f"brand:{alert.brand}", f"severity:{alert.severity}", f"state:{alert.state}"],
        "text": text,
    }


def annotate(api: GrafanaLike, alert: Alert) -> bool:
    annotation = annotation_for(alert)
    if annotation is None:
        return False
    api.annotations.add_annotation(**annotation)
    return True
