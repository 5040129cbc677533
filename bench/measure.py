"""What the throughput bench measures with, shared by its runs: results, percentiles, peak RSS and
a worker's progress as its own /metrics report it (never end offsets: the embedded broker
under-reports them)."""

from __future__ import annotations

import statistics
import time
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil  # type: ignore[import-untyped]  # psutil ships no type stubs
from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True)
class Result:
    """One row of the bench's table. Latencies in seconds, RSS in bytes; None: not measured."""

    scenario: str
    mentions: int
    rate: float | None = None
    p50: float | None = None
    p99: float | None = None
    peak_rss: int | None = None
    note: str = ""


def percentiles(values: Sequence[float]) -> tuple[float | None, float | None]:
    """(p50, p99) of `values`, or (None, None) if there are too few."""
    if len(values) < 2:
        return (values[0], values[0]) if values else (None, None)
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[98]


def _vm_hwm(pid: int) -> int | None:
    """The kernel's peak resident set size of `pid` (Linux `VmHWM`), in bytes."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


class PeakRss:
    """Largest RSS seen per process, polled with psutil; `final` also asks the kernel's own peak."""

    def __init__(self, pids: Iterable[int], interval: float = 0.5) -> None:
        self.peaks: dict[int, int] = dict.fromkeys(pids, 0)
        self._interval = interval
        self._last = 0.0

    def poll(self) -> None:
        now = time.monotonic()
        if now - self._last < self._interval:
            return
        self._last = now
        for pid in self.peaks:
            try:
                rss: int = psutil.Process(pid).memory_info().rss
            except psutil.Error:
                continue
            self.peaks[pid] = max(self.peaks[pid], rss)

    def final(self) -> dict[int, int]:
        """Call while the processes are still alive: polled peak or the kernel's, whichever is larger."""
        self._last = 0.0
        self.poll()
        return {pid: max(peak, _vm_hwm(pid) or 0) for pid, peak in self.peaks.items()}


@dataclass(frozen=True)
class WorkerProgress:
    """What one worker's /metrics say: last processed raw offset per partition, scored records."""

    offsets: dict[int, int]
    scored: float


def worker_progress(metrics_url: str) -> WorkerProgress | None:
    """None while the worker's metrics server is not up yet."""
    try:
        with urllib.request.urlopen(metrics_url, timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return None
    offsets: dict[int, int] = {}
    scored = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "brandmon_stream_processed_offset":
                offsets[int(sample.labels["partition"])] = int(sample.value)
            elif sample.name == "brandmon_mentions_total":
                scored += sample.value
    return WorkerProgress(offsets, scored)


def mib(size: int | None) -> str:
    return "-" if size is None else f"{size / 2**20:,.0f} MiB"


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:,.0f} ms" if value < 10 else f"{value:,.1f} s"
