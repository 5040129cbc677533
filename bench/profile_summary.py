"""Where a worker's CPU went, from a py-spy `--format raw` profile (collapsed stacks).

Run: `python -m bench.profile_summary /tmp/worker.txt` (the bench writes one with `--profile`).

Each sample goes to the category of the deepest frame that belongs to one; a sample whose deepest
such frame is brandmon glue (the agent, `MentionProcessor.handle` itself) counts as framework if
Faust/aiokafka/asyncio code runs below it, else as "other". The bench records with `--gil`: only
the thread holding the GIL is sampled, so shares are of the worker's Python CPU time (without it,
threads blocked in a socket, like the /metrics server's, were counted as busy: 5-9%).
"""

from __future__ import annotations

import argparse
import linecache
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

FRAME = re.compile(r"^(?P<function>.*) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")
ROOT = Path(__file__).resolve().parents[1]
FRAMEWORK = "Faust / mode / aiokafka / asyncio (consume, produce, commit, event loop)"
OTHER = "other (brandmon glue: agent, processor loop; unattributed)"

Frame = tuple[str, str, int]
"""(function, file with a leading `/`, line) as py-spy names them."""
Rule = tuple[str, Callable[[Frame], bool]]


def _in(*parts: str) -> Callable[[Frame], bool]:
    return lambda frame: any(part in frame[1] for part in parts)


def _functions(file_part: str, *names: str) -> Callable[[Frame], bool]:
    """Functions or methods named `names` in the file; py-spy names them `Class.method` and list
    comprehensions `Class.method.<locals>.<listcomp>`."""
    wanted = set(names)
    return lambda frame: file_part in frame[1] and not wanted.isdisjoint(frame[0].split("."))


def _line_has(file_part: str, text: str) -> Callable[[Frame], bool]:
    """Frames on a source line of this checkout containing `text` (a call into native code)."""
    return lambda frame: file_part in frame[1] and text in linecache.getline(str(ROOT) + frame[1], frame[2])


RULES: list[Rule] = [
    ("raw decode + validation (orjson, pydantic Mention)", _in("streams/decode.py")),
    ("dedup (TTLCache)", _in("cachetools")),
    ("dedup (TTLCache)", _functions("streams/processor.py", "dedup_key")),
    ("language detection: lingua", _line_has("streams/language.py", "_detector")),
    ("language detection: lingua", _in("lingua")),
    ("language detection: function words, regexes", _in("streams/language.py")),
    (
        "sentiment (VADER en, lexicons de/da)",
        _in("vaderSentiment", "streams/sentiment", "streams/vader_exact", "streams/lexicon_sentiment"),
    ),
    ("sentiment (VADER en, lexicons de/da)", _in("streams/emoji_valence")),
    ("query matching", _in("streams/query_")),
    ("scored records: build + encode (pydantic, orjson)", _functions("streams/scoring.py", "records")),
    ("scored records: build + encode (pydantic, orjson)", _functions("brandmon/schemas.py", "dumps")),
    ("windows + changelog (Faust table)", _in("streams/windows.py")),
    ("windows + changelog (Faust table)", _functions("streams/app.py", "get", "set")),
    ("windows + changelog (Faust table)", _functions("streams/processor.py", "_count")),
    ("spike: validate scored JSON (pydantic)", _functions("streams/spike_tracker.py", "add_json", "decode")),
    (
        "spike / term tracking, detection, alerts",
        _in(
            "streams/spike_",
            "streams/buckets.py",
            "streams/terms.py",
            "streams/surprise.py",
            "streams/baseline.py",
            "streams/rumour_signals.py",
            "streams/alert_explanation.py",
            "brandmon/alert_text.py",
        ),
    ),
    ("metrics: counters, summaries, gauges", _in("prometheus_client", "streams/metrics.py")),
    (
        "produce scored records (OutputProducer, aiokafka send)",
        _in("streams/output.py"),
    ),
    (FRAMEWORK, _in("streams/transport.py")),
]
SCRAPE = "metrics: serving /metrics (the bench polls it once a second)"
_SCRAPE_FILES = ("prometheus_client/exposition.py", "/wsgiref/", "/socketserver.py", "/http/server.py")
_PROJECT = ("/streams/", "/brandmon/", "/connectors/")
"""Paths as py-spy prints them (relative to sys.path), matched with a leading `/`."""
_FRAMEWORK_FILES = ("/faust/", "/mode/", "/aiokafka/", "/asyncio/", "/kafka/", "selectors.py", "/ssl.py")


def categorise(stack: list[Frame]) -> str:
    """The category of one sample; `stack` goes from the root to the leaf."""
    if any(part in frame[1] for frame in stack for part in _SCRAPE_FILES):
        return SCRAPE
    for depth in range(len(stack) - 1, -1, -1):
        frame = stack[depth]
        for category, matches in RULES:
            if matches(frame):
                return category
        if any(part in frame[1] for part in _PROJECT):
            below = stack[depth + 1 :]
            return FRAMEWORK if any(_framework(f[1]) for f in below) else OTHER
    return FRAMEWORK if any(_framework(f[1]) for f in stack) else OTHER


def _framework(file: str) -> bool:
    return any(part in file for part in _FRAMEWORK_FILES)


def summarise(path: Path) -> tuple[Counter[str], int]:
    counts: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        if not stack_text or not count_text.isdigit():
            continue
        stack: list[Frame] = []
        for frame in stack_text.split(";"):
            match = FRAME.match(frame)
            if match is None:
                stack.append((frame, "", 0))
            else:
                stack.append((match["function"], "/" + match["file"], int(match["line"] or 0)))
        counts[categorise(stack)] += int(count_text)
        total += int(count_text)
    return counts, total


def table(path: Path) -> Table:
    counts, total = summarise(path)
    result = Table(title=f"Worker CPU by category ({total:,} py-spy samples at 100/s)")
    result.add_column("category")
    result.add_column("samples", justify="right")
    result.add_column("share", justify="right")
    for category, count in counts.most_common():
        result.add_row(category, f"{count:,}", f"{100 * count / max(total, 1):.1f}%")
    return result


def start_py_spy(pid: int, output: Path) -> subprocess.Popen[bytes]:
    """py-spy (installed in the venv, not a dependency) sampling `pid` 100 times a second, the
    GIL-holding thread only, without pausing it (`--nonblocking`)."""
    binary = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if binary is None:
        raise RuntimeError("py-spy is not installed: .venv/bin/pip install py-spy")
    command = [binary, "record", "--pid", str(pid), "--rate", "100", "--format", "raw"]
    command += ["--nonblocking", "--gil", "--output", str(output)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_py_spy(spy: subprocess.Popen[bytes]) -> None:
    spy.send_signal(signal.SIGINT)
    try:
        spy.wait(30)
    except subprocess.TimeoutExpired:
        spy.kill()
        spy.wait()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("profile", type=Path, help="py-spy record --format raw output")
    Console().print(table(parser.parse_args().profile))


if __name__ == "__main__":
    main()
