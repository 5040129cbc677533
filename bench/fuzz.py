"""Fuzz run: the hostile-input properties of `tests/test_hostile_*.py`, with far more and larger
examples than the test suite runs (raw values up to and over the 256 KiB limit, 60,000-item
batches, 300 KB texts, recorded payloads mutated).

Run: `python -m bench.fuzz --seconds 60` (the time is shared by the targets; `--target worker`
picks targets whose name contains a word; `--list` shows them). Hypothesis generates the examples,
with no deadline and no example database; a failure is shrunk and printed with the example that
shows it (shrinking may run over the time given). Each example runs under a timer: one that takes
longer than `--stall-seconds` is stopped and reported as a stall, not shrunk, since stalling a
worker or a connector is a bug as real as a crash. Targets that need ../shared recordings are left
out when it is not checked out. `--save DIR` writes each stalled input to DIR. Exit status 1 when
anything failed or stalled.

Per target: examples run, examples per second, the slowest example, stalls and distinct failures.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import signal
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings

from tests import (
    test_hostile_connectors,
    test_hostile_input,
    test_hostile_query,
    test_hostile_rss,
    test_hostile_webhook,
)
from tests.test_hostile_input import Target

BATCH = 1_000_000
"""Examples per hypothesis run; a run ends earlier when the target's time is up."""


class Stall(BaseException):
    """Raised by the timer inside an example that took too long (a BaseException, so the code under
    test, which may catch Exception to survive bugs, cannot swallow it)."""


class TimeUp(BaseException):
    """Ends a hypothesis run when the target's share of the time is spent."""


@dataclass
class Result:
    name: str
    examples: int = 0
    seconds: float = 0.0
    slowest: float = 0.0
    slowest_input: str = ""
    stalls: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.examples / self.seconds if self.seconds else 0.0


def all_targets() -> list[Target]:
    modules = [test_hostile_input, test_hostile_query, test_hostile_connectors, test_hostile_rss]
    return [target for module in [*modules, test_hostile_webhook] for target in module.fuzz_targets()]


def describe(value: Any) -> str:
    """A short, printable account of an input: its type, size and start."""
    if isinstance(value, tuple):
        return "(" + ", ".join(describe(part) for part in value) + ")"
    size = f"{len(value):,} long, " if isinstance(value, str | bytes | list | dict) else ""
    text = repr(value)
    return f"{type(value).__name__} {size}{text[:100]}{'...' if len(text) > 100 else ''}"


def _stall(signum: int, frame: FrameType | None) -> None:
    raise Stall


def fuzz(target: Target, seconds: float, stall_seconds: float, save: Path | None = None) -> Result:
    result = Result(target.name)
    target.warm()
    ends = time.monotonic() + seconds

    def example(value: Any) -> None:
        if time.monotonic() >= ends:
            raise TimeUp
        started = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, stall_seconds)
        try:
            target.check(value)
        except Stall:
            result.stalls.append(describe(value))
            if save is not None:  # the input as a Python literal, to replay the stall
                slug = re.sub(r"[^a-z0-9]+", "-", target.name)
                (save / f"{slug}-stall-{len(result.stalls)}.txt").write_text(repr(value))
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            elapsed = time.perf_counter() - started
            result.examples += 1
            if elapsed > result.slowest:
                result.slowest, result.slowest_input = elapsed, describe(value)

    run = settings(
        max_examples=BATCH,
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )(given(target.strategy)(example))
    started = time.monotonic()
    while time.monotonic() < ends:
        output = io.StringIO()
        try:
            with contextlib.redirect_stdout(output):
                run()
        except (TimeUp, Stall):
            pass
        except Exception as error:  # a property failed: keep the first example of each kind
            first_line = (str(error).splitlines() or [""])[0][:200]
            notes = "\n".join(getattr(error, "__notes__", []))
            result.failures.setdefault(f"{type(error).__name__}: {first_line}", notes or output.getvalue())
    result.seconds = time.monotonic() - started
    return result


def report(result: Result, stall_seconds: float) -> None:
    print(
        f"{result.name:34} {result.examples:>9,} examples {result.rate:>9,.0f}/s"
        f"   slowest {result.slowest * 1000:,.0f} ms"
    )
    if result.slowest > stall_seconds / 4:
        print(f"    slowest input: {result.slowest_input}")
    for stall in result.stalls[:5]:
        print(f"    STALL (over {stall_seconds:g} s, stopped): {stall}")
    if len(result.stalls) > 5:
        print(f"    ... and {len(result.stalls) - 5} more stalls")
    for failure, example in result.failures.items():
        print(f"    FAILURE {failure}")
        for line in example.splitlines()[:40]:
            print(f"        {line[:300]}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="total time, shared by the targets")
    parser.add_argument("--target", action="append", default=[], help="only targets whose name contains this")
    parser.add_argument("--stall-seconds", type=float, default=2.0, help="an example slower than this stalls")
    parser.add_argument("--save", type=Path, help="write each stalled input here (as a Python literal)")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    args = parser.parse_args(argv)
    targets = [t for t in all_targets() if not args.target or any(w in t.name for w in args.target)]
    if args.list or not targets:
        print("\n".join(t.name for t in all_targets()))
        return 0 if targets else 2
    signal.signal(signal.SIGALRM, _stall)
    warnings.filterwarnings("ignore", "Generating overly large repr")  # inputs are large on purpose
    if args.save is not None:
        args.save.mkdir(parents=True, exist_ok=True)
    share = args.seconds / len(targets)
    print(f"fuzzing {len(targets)} targets, {share:.1f} s each, stall after {args.stall_seconds:g} s\n")
    results = []
    for target in targets:
        results.append(result := fuzz(target, share, args.stall_seconds, args.save))
        report(result, args.stall_seconds)
    examples, seconds = sum(r.examples for r in results), sum(r.seconds for r in results)
    bad = sum(len(r.failures) + len(r.stalls) for r in results)
    print(
        f"\n{examples:,} examples in {seconds:.0f} s ({examples / max(seconds, 1e-9):,.0f}/s); {bad} problems"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
