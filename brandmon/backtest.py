"""`brandmon backtest`: replay history through the same detectors the stream runs.

`brandmon backtest counts FILE.csv` reads `timestamp,value` rows (one bucket per row, any bucket
size, header optional, `-` for stdin) and writes `timestamp,value,score,alert` to stdout, where
`alert` is 1 on the rows where the shipped detector would open a NEW alert (see
`streams.spike_detector`). A bad row stops the run with its line number and what is wrong with
it (exit code 2), never a traceback: backtests are run on hand-made and exported files.
`brandmon backtest mentions FILE.jsonl` replays mentions through the stream's own matcher,
scorer and brand monitors and prints the alerts that would have fired, with their explanations.
"""

from __future__ import annotations

import csv
import itertools
import math
import re
import statistics
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, TextIO

import click

from brandmon.commands import CONFIG_HELP
from brandmon.schemas import Mention
from streams.spike_detector import Sensitivity, detect_counts

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$", re.IGNORECASE)


class RowError(ValueError):
    """A problem with one input line; the message names the line."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"line {line}: {problem}")
        self.line = line


@dataclass(frozen=True, slots=True)
class CountRow:
    timestamp: datetime
    value: float
    raw_timestamp: str
    raw_value: str


def parse_timestamp(text: str) -> datetime:
    """ISO 8601 (`2015-02-26 21:42:53`, `...T...Z`, with offset) or Unix seconds; naive means UTC."""
    text = text.strip()
    try:
        return datetime.fromtimestamp(float(text), tz=UTC)
    except (ValueError, OverflowError, OSError):
        pass
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_count_rows(lines: Iterable[str]) -> list[CountRow]:
    """Parse `timestamp,value` CSV; a first row naming the columns is a header (any order)."""
    rows: list[CountRow] = []
    columns = (0, 1)
    for number, fields in _numbered_rows(lines):
        if not rows and number == 1 and any(name.strip().lower() == "timestamp" for name in fields):
            names = [name.strip().lower() for name in fields]
            if "value" not in names:
                raise RowError(number, "header has no `value` column (expected `timestamp,value`)")
            columns = (names.index("timestamp"), names.index("value"))
            continue
        if len(fields) <= max(columns):
            raise RowError(number, f"expected the columns timestamp,value, got {len(fields)} field(s)")
        raw_time, raw_value = fields[columns[0]].strip(), fields[columns[1]].strip()
        try:
            timestamp = parse_timestamp(raw_time)
        except ValueError:
            raise RowError(number, f"timestamp {raw_time!r} is not ISO 8601 or Unix seconds") from None
        try:
            value = float(raw_value)
        except ValueError:
            raise RowError(number, f"value {raw_value!r} is not a number") from None
        if not math.isfinite(value) or value < 0:
            raise RowError(number, f"value {raw_value!r} must be a finite count >= 0")
        if rows and timestamp <= rows[-1].timestamp:
            raise RowError(
                number, f"timestamp {raw_time} is not after the previous row's {rows[-1].raw_timestamp}"
            )
        rows.append(CountRow(timestamp, value, raw_time, raw_value))
    return rows


def _numbered_rows(lines: Iterable[str]) -> Iterable[tuple[int, list[str]]]:
    reader = csv.reader(lines)
    try:
        for fields in reader:
            if fields and any(field.strip() for field in fields):
                yield reader.line_num, fields
    except csv.Error as error:
        raise RowError(reader.line_num, f"malformed CSV ({error})") from None
    except UnicodeDecodeError:
        raise RowError(reader.line_num + 1, "not UTF-8 text") from None


def parse_bucket(text: str) -> int:
    """`30s`, `1m`, `5m`, `1h`, `1d` -> seconds."""
    match = _DURATION.match(text)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration like 1m, 5m, 1h or 1d")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def median_spacing(rows: list[CountRow]) -> int:
    """Bucket size guessed from the data: the median gap between consecutive rows, in seconds."""
    gaps = [(b.timestamp - a.timestamp).total_seconds() for a, b in itertools.pairwise(rows)]
    return max(1, round(statistics.median(gaps)))


SENSITIVITY = click.option(
    "--sensitivity",
    type=click.Choice([level.value for level in Sensitivity]),
    default=Sensitivity.BALANCED.value,
    show_default=True,
    help="Alert sensitivity preset: fewer alerts, balanced, or more (earlier, smaller spikes).",
)


@click.group()
def backtest() -> None:
    """Replay historical data through brandmon's detectors, offline (no Kafka)."""


@backtest.command()
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
@SENSITIVITY
@click.option("--bucket", default=None, help="Bucket size: 1m, 5m, 1h, 1d ... [default: median row spacing]")
def counts(file: TextIO, sensitivity: str, bucket: str | None) -> None:
    """Score a `timestamp,value` CSV of bucket counts (FILE or - for stdin).

    One row per bucket, oldest first; timestamps in ISO 8601 (UTC unless an offset is given) or
    Unix seconds; an optional header row may name the columns in any order.

    Writes `timestamp,value,score,alert` to stdout: score in [0, 1] (how surprising the count is
    given the learned rhythm and level), alert 1 where a new rumour-spike alert would open.
    """
    try:
        rows = read_count_rows(file)
    except RowError as error:
        raise click.BadParameter(str(error), param_hint="FILE") from None
    if not rows:
        raise click.BadParameter("no data rows (expected `timestamp,value` lines)", param_hint="FILE")
    if bucket is not None:
        try:
            bucket_seconds = parse_bucket(bucket)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--bucket") from None
    elif len(rows) < 2:
        raise click.UsageError("one row is not enough to infer the bucket size; pass --bucket")
    else:
        bucket_seconds = median_spacing(rows)
    scored = detect_counts(((row.timestamp, row.value) for row in rows), sensitivity, bucket_seconds)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["timestamp", "value", "score", "alert"])
    for row, result in zip(rows, scored, strict=True):
        out.writerow([row.raw_timestamp, row.raw_value, f"{result.score:.4f}", result.alert])


@backtest.command()
@click.argument("file", type=click.File("rb"))
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None, help=CONFIG_HELP)
@SENSITIVITY
@click.option("--bucket", default="1m", show_default=True, help="Bucket size: 1m, 5m, 1h ...")
@click.option("--json", "as_json", is_flag=True, help="Print alerts as brandmon.alerts.v1 JSON lines.")
def mentions(file: BinaryIO, config_path: Path | None, sensitivity: str, bucket: str, as_json: bool) -> None:
    """Replay mentions (JSON lines, FILE or - for stdin) and print the alerts that would have fired.

    Each line is a mention or a batch in the raw topic's format. Matching, language, sentiment
    and the spike detector are the stream's own; time is the mentions' `created_at`. Lines that
    cannot be read are reported on stderr with their line number and skipped.
    """
    from brandmon.alert_text import alert_report
    from brandmon.cli import load_config_or_exit, load_settings
    from brandmon.schemas import dumps
    from streams.decode import decode_raw
    from streams.replay import replay_alerts
    from streams.scoring import MentionScorer
    from streams.spike_detector import DetectorSettings
    from streams.spike_monitor import MonitorSettings

    try:
        bucket_seconds = parse_bucket(bucket)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--bucket") from None
    config = load_config_or_exit(config_path or load_settings().config)
    history: list[Mention] = []
    for number, line in enumerate(file, start=1):
        if not line.strip():
            continue
        decoded = decode_raw(line.rstrip(b"\r\n"))
        for rejected in decoded.rejected:
            click.echo(f"line {number}: skipped ({rejected.reason}): {rejected.detail}", err=True)
        history.extend(decoded.mentions)
    settings = MonitorSettings(
        bucket_seconds=bucket_seconds,
        allowed_lateness_seconds=0,
        detector=DetectorSettings.preset(sensitivity),
    )
    scorer = MentionScorer(config.brands, config.languages)
    opened = 0
    for alert in replay_alerts(history, scorer, {b.id: b.name for b in config.brands}, settings):
        opened += alert.state == "opened"
        if as_json:
            sys.stdout.buffer.write(dumps(alert) + b"\n")
        else:
            click.echo(alert_report(alert) + "\n")
    if not as_json:
        span = ""
        if history:
            first, last = min(m.created_at for m in history), max(m.created_at for m in history)
            span = f" between {first:%Y-%m-%d %H:%M} and {last:%Y-%m-%d %H:%M} UTC"
        click.echo(f"{opened} alerts would have opened for {len(history)} mentions{span}.")
