"""The demo's terminal view: per-brand mention rate, net sentiment and the newest mentions.

Fed from the scored topic, as any downstream consumer would be; rendering is separate from Kafka.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from brandmon.alert_text import alert_line
from brandmon.config import BrandmonConfig
from brandmon.schemas import Alert, ScoredMention

RATE_WINDOW = 60.0
TREND_WINDOW = 300.0
"""The last minute's rate is compared with the average minute of up to four minutes before it..."""
MIN_HISTORY = 30.0
"""...once that earlier history spans this long (from the first record the view received)."""


@dataclass
class _BrandSeries:
    arrivals: deque[tuple[float, float | None]] = field(default_factory=deque)
    total: int = 0


class LiveView:
    def __init__(
        self,
        config: BrandmonConfig,
        metrics_url: str,
        started: float | None = None,
        live_since: float | None = None,
    ) -> None:
        self._started = started
        self._live_since = live_since
        self._names = {b.id: b.name for b in config.brands}
        self._series = {b.id: _BrandSeries() for b in config.brands}
        self._newest: deque[ScoredMention] = deque(maxlen=8)
        self.metrics_url = metrics_url
        self.status = "starting"
        self.published = 0
        self.scored = 0
        self.history = 0
        """Scored records of mentions created before `live_since` (backfill): not in the rates."""
        self.alerts: list[Alert] = []

    def add(self, record: ScoredMention, now: float | None = None) -> None:
        series = self._series.get(record.brand)
        if series is None:
            return
        if self._live_since is not None and record.mention.created_at.timestamp() < self._live_since:
            self.history += 1
            return
        compound = record.sentiment.compound if record.sentiment is not None else None
        now = now or time.time()
        if self._started is None:
            self._started = now
        series.arrivals.append((now, compound))
        series.total += 1
        self.scored += 1
        self._newest.appendleft(record)

    def add_alert(self, alert: Alert) -> None:
        self.alerts.append(alert)

    def rows(self, now: float | None = None) -> list[tuple[str, int, float | None, float | None, int]]:
        """(brand, mentions in the last minute, that rate / the earlier average minute, net sentiment,
        total). The trend is None until MIN_HISTORY of earlier history exists, or when it was silent."""
        now = now or time.time()
        recent_since = now - RATE_WINDOW
        history_since = max(self._started if self._started is not None else now, now - TREND_WINDOW)
        earlier_minutes = (recent_since - history_since) / RATE_WINDOW
        known = earlier_minutes * RATE_WINDOW >= MIN_HISTORY
        result = []
        for brand, series in self._series.items():
            while series.arrivals and series.arrivals[0][0] < now - TREND_WINDOW:
                series.arrivals.popleft()
            recent = [c for t, c in series.arrivals if t >= recent_since]
            earlier = sum(1 for t, _ in series.arrivals if history_since <= t < recent_since)
            trend = len(recent) / (earlier / earlier_minutes) if known and earlier else None
            scored = [c for c in recent if c is not None]
            net = (
                sum(1 if c >= 0.05 else -1 if c <= -0.05 else 0 for c in scored) / len(scored)
                if scored
                else None
            )
            result.append((brand, len(recent), trend, net, series.total))
        return result

    def render(self) -> Group:
        table = Table(title="brandmon live: mentions per brand", expand=True)
        for column in ("brand", "mentions/min", "vs earlier minutes", "net sentiment", "total"):
            table.add_column(column, justify="left" if column == "brand" else "right")
        for brand, rate, trend, net, total in self.rows():
            trend_text = (
                Text("n/a", style="dim")
                if trend is None
                else Text(f"x{trend:.1f}", style="bold red" if trend >= 2.5 and rate >= 20 else "")
            )
            net_text = Text("n/a" if net is None else f"{net:+.2f}", style=_net_style(net))
            table.add_row(self._names[brand], str(rate), trend_text, net_text, str(total))
        newest = Table(show_header=False, expand=True, box=None)
        for record in self._newest:
            text = record.mention.text.replace("\n", " ")[:110]
            label = record.sentiment.label if record.sentiment else record.lang
            newest.add_row(f"[bold]{record.brand}[/]", f"[dim]{record.mention.source}/{label}[/]", text)
        footer = Text(
            f"{self.status} | published {self.published} | scored records {self.scored} "
            f"(+{self.history} history) | "
            f"metrics {self.metrics_url} | Ctrl-C stops"
        )
        parts: list[Table | Panel | Text] = [table]
        if self.alerts:
            lines = Text("\n".join(alert_line(a) for a in self.alerts[-4:]), style="bold red")
            parts.append(Panel(lines, title="spike alerts (brandmon.alerts.v1)"))
        return Group(*parts, Panel(newest, title="newest mentions"), footer)


def _net_style(net: float | None) -> str:
    if net is None:
        return "dim"
    return "green" if net > 0.1 else "red" if net < -0.1 else ""
