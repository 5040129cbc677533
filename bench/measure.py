"""What the throughput bench measures with, shared by its runs: results, percentiles, peak RSS and
a worker's progress as its own /metrics report it (never end offsets: the embedded broker
under-reports them)."""

from __future__ import annotations

import contextlib
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
    per_cpu: float | None = None
    """Mentions per CPU second of the processes doing the work (not the broker): what the rate
    would be on a core of their own, whatever else the machine was running."""


def percentiles(values: Sequence[float]) -> tuple[float | None, float | None]:
    """(p50, p99) of `values`, or (None, None) if there are too few."""
    if len(values) < 2:
        return (values[0], values[0]) if values else (None, None)
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[98]


def vm_hwm(pid: int) -> int | None:
    """The kernel's peak resident set size of `pid` (Linux `VmHWM`), in bytes. Unlike `ru_maxrss`,
    it does not include the memory of the parent that forked the process before its exec."""
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
        return {pid: max(peak, vm_hwm(pid) or 0) for pid, peak in self.peaks.items()}


def _schedstat(pid: int) -> tuple[float, float] | None:
    """(seconds on a CPU, seconds runnable but waiting for one) over the threads of `pid` (Linux)."""
    on_cpu = waiting = 0.0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = (task / "schedstat").read_text().split()
                on_cpu += int(fields[0]) / 1e9
                waiting += int(fields[1]) / 1e9
    except OSError:
        return None
    return on_cpu, waiting


class CpuUse:
    """Per process, between `start()` and `used()`: cores used (CPU seconds per wall second) and
    cores' worth of time it was runnable but waited for a CPU (starved by other processes)."""

    def __init__(self, pids: dict[str, int]) -> None:
        self._pids = pids
        self._start: tuple[float, dict[str, tuple[float, float]]] | None = None

    def _times(self) -> dict[str, tuple[float, float]]:
        times: dict[str, tuple[float, float]] = {}
        for name, pid in self._pids.items():
            stat = _schedstat(pid)
            if stat is not None:
                times[name] = stat
        return times

    @property
    def started(self) -> bool:
        return self._start is not None

    def start(self) -> None:
        self._start = (time.monotonic(), self._times())

    def used(self) -> dict[str, tuple[float, float]]:
        if self._start is None:
            return {}
        began, before = self._start
        wall = max(time.monotonic() - began, 1e-9)
        return {
            name: ((cpu - before[name][0]) / wall, (wait - before[name][1]) / wall)
            for name, (cpu, wait) in self._times().items()
            if name in before
        }


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
