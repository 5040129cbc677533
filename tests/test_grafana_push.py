"""`brandmon grafana push`: what reaches Grafana's API, recorded by a stand-in (no Grafana runs here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from brandmon.grafana_push import (
    BRAND_DASHBOARD_UID,
    FOLDER_UID,
    annotate,
    annotation_for,
    dashboards,
    push_dashboards,
)
from brandmon.schemas import Alert, DrivingTerm, RumourEvidence, SentimentShift

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@dataclass
class Calls:
    folders: list[dict[str, Any]] = field(default_factory=list)
    dashboards: list[dict[str, Any]] = field(default_factory=list)
    annotations: list[dict[str, Any]] = field(default_factory=list)

    def get_all_folders(self) -> list[dict[str, Any]]:
        return self.folders

    def create_folder(self, title: str, uid: str | None = None) -> dict[str, Any]:
        self.folders.append({"title": title, "uid": uid})
        return self.folders[-1]

    def update_dashboard(self, dashboard: dict[str, Any]) -> None:
        self.dashboards.append(dashboard)

    def add_annotation(self, **annotation: Any) -> None:
        self.annotations.append(annotation)


@dataclass
class StandIn:
    calls: Calls = field(default_factory=Calls)

    @property
    def folder(self) -> Calls:
        return self.calls

    @property
    def dashboard(self) -> Calls:
        return self.calls

    @property
    def annotations(self) -> Calls:
        return self.calls


def alert(state: str) -> Alert:
    return Alert(
        alert_id="brewbird:recall:1714564800",
        brand="brewbird",
        brand_name="Brewbird",
        topic="recall",
        state=state,  # type: ignore[arg-type]
        severity="medium",
        score=0.7,
        bucket_seconds=60,
        bucket_start=T0 + timedelta(minutes=5),
        first_seen=T0,
        observed=120,
        expected=40.0,
        mentions=150,
        driving_terms=[DrivingTerm(term="recall", count=90, expected=1.0, growth=45.5, new=True)],
        posts=[],
        sources={"mastodon": 100},
        languages={"en": 150},
        sentiment=SentimentShift(
            before=0.1, during=-0.4, negative_share_before=0.2, negative_share_during=0.6
        ),
        rumour=RumourEvidence(
            enquiry_share=0.3,
            correction_share=0.05,
            reshare_share=0.1,
            unique_authors=120,
            expected_authors=40.0,
            sources=2,
            novelty=1.0,
            likely_rumour=True,
        ),
        dashboard_url=None,
        detector="brandmon-spike/test",
        emitted_at=T0 + timedelta(minutes=6),
    )


def test_push_creates_the_folder_once_and_overwrites_every_dashboard(tmp_path: Path) -> None:
    for uid in ("brandmon-wall", "brandmon-brand"):
        (tmp_path / f"{uid}.json").write_bytes(orjson.dumps({"id": 7, "uid": uid, "title": uid}))
    grafana = StandIn()
    assert push_dashboards(grafana, dashboards(tmp_path)) == ["brandmon-brand", "brandmon-wall"]
    push_dashboards(grafana, dashboards(tmp_path))
    assert grafana.calls.folders == [{"title": "brandmon", "uid": FOLDER_UID}]
    assert len(grafana.calls.dashboards) == 4
    sent = grafana.calls.dashboards[0]
    assert sent["overwrite"] is True
    assert sent["folderUid"] == FOLDER_UID
    assert "id" not in sent["dashboard"], "ids are per Grafana instance; uids identify dashboards"


def test_opened_and_resolved_alerts_become_annotations_on_the_brand_dashboard() -> None:
    grafana = StandIn()
    assert annotate(grafana, alert("opened"))
    assert not annotate(grafana, alert("updated"))
    assert annotate(grafana, alert("resolved"))
    opened, resolved = grafana.calls.annotations
    assert opened["dashboard_uid"] == BRAND_DASHBOARD_UID
    assert opened["time_from"] == int(T0.timestamp() * 1000), "the annotation marks when it began"
    assert resolved["time_from"] == int((T0 + timedelta(minutes=5)).timestamp() * 1000)
    assert "brand:brewbird" in opened["tags"]
    assert "state:resolved" in resolved["tags"]
    assert "Brewbird" in opened["text"]
    assert "recall" in opened["text"]
    assert annotation_for(alert("updated")) is None
