"""NAB (Numenta Anomaly Benchmark v1.1) score of the shipped spike detector on the tweet series.

Run: `python -m bench.nab_score` (`--datasets DIR`, `--sensitivity`, `--profile`).

Reads `../shared/datasets/nab-tweets-dev` in place (never copied into the project), runs
`streams.spike_detector.detect_counts` with the shipped defaults on each series, takes
`alert` (1 where a new alert opens) as the detections, and scores them exactly as NAB's sweeper
does (nab/sweeper.py at the dataset's commit):

- rows before min(floor(0.15 * rows), 750) are probationary: detections there count for nothing;
- the earliest detection inside a labelled window earns scaled_sigmoid(-(right - i + 1) / width)
  / scaled_sigmoid(-1) times the TP weight, where scaled_sigmoid(y) = 2 / (1 + e**(5y)) - 1
  (and -1 for y >= 3); a window without one costs the FN weight;
- every detection outside the windows adds FP weight * scaled_sigmoid((i - previous right
  edge) / (previous width - 1)), or -FP weight when no window precedes it;
- normalised = 100 * (S - S_null) / (S_perfect - S_null), S_null = -FN weight * windows,
  S_perfect = windows, summed over the series like NAB sums over its corpus.

The published detectors' raw scores come from `published_standard_scores.csv` (each at its own
corpus-wide tuned threshold); ours use one fixed setting for every series, with no per-series
tuning.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from brandmon.backtest import median_spacing, read_count_rows
from streams.spike_detector import Sensitivity, detect_counts

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
PROFILES = {  # NAB config/profiles.json
    "standard": {"tp": 1.0, "fp": 0.11, "fn": 1.0},
    "reward_low_FP_rate": {"tp": 1.0, "fp": 0.22, "fn": 1.0},
    "reward_low_FN_rate": {"tp": 1.0, "fp": 0.11, "fn": 2.0},
}


def scaled_sigmoid(position: float) -> float:
    return -1.0 if position >= 3.0 else 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


@dataclass(frozen=True, slots=True)
class SeriesScore:
    raw: float
    windows: int
    detected: int
    false_positives: int
    alerts: int


def nab_score(
    timestamps: Sequence[str],
    detections: Sequence[int],
    windows: Sequence[tuple[int, int]],
    weights: dict[str, float],
) -> SeriesScore:
    """NAB's sweeper score of 0/1 detections; `windows` are (left, right) row indices."""
    probation = min(math.floor(0.15 * len(timestamps)), 0.15 * 5000)
    best: dict[int, float] = {}
    false_positive_score, false_positives = 0.0, 0
    scorable = {k for k, (left, right) in enumerate(windows) if right >= probation}
    for i, fired in enumerate(detections):
        if not fired or i < probation:
            continue
        inside = [k for k, (left, right) in enumerate(windows) if left <= i <= right]
        if inside:
            left, right = windows[inside[0]]
            credit = scaled_sigmoid(-(right - i + 1) / (right - left + 1)) / scaled_sigmoid(-1.0)
            best[inside[0]] = max(best.get(inside[0], -math.inf), credit * weights["tp"])
            continue
        previous = [(left, right) for left, right in windows if right < i]
        if previous:
            left, right = max(previous, key=lambda window: window[1])
            position = abs(right - i) / float(right - left)
        else:
            position = 3.0
        false_positive_score += scaled_sigmoid(position) * weights["fp"]
        false_positives += 1
    missed = len(scorable - best.keys())
    raw = sum(best.values()) + false_positive_score - missed * weights["fn"]
    return SeriesScore(raw, len(scorable), len(best), false_positives, sum(detections))


def normalised(raw: float, windows: int, fn_weight: float = 1.0) -> float:
    null = -fn_weight * windows
    return 100.0 * (raw - null) / (windows - null)


def score_file(folder: Path, name: str, sensitivity: str, weights: dict[str, float]) -> SeriesScore:
    with (folder / name).open(encoding="utf-8") as handle:
        rows = read_count_rows(handle)
    scored = detect_counts(((r.timestamp, r.value) for r in rows), sensitivity, median_spacing(rows))
    stamps = [row.raw_timestamp for row in rows]
    limits = json.loads((folder / "windows.json").read_text())[name]
    windows = [(stamps.index(left[:19]), stamps.index(right[:19])) for left, right in limits]
    return nab_score(stamps, [row.alert for row in scored], windows, weights)


def published(folder: Path, names: Sequence[str]) -> dict[str, dict[str, float]]:
    table: dict[str, dict[str, float]] = {}
    with (folder / "published_standard_scores.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["file"] in names:
                table.setdefault(row["detector"], {})[row["file"]] = float(row["raw_score"])
    return table


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    parser.add_argument("--sensitivity", choices=[s.value for s in Sensitivity], default="balanced")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="standard")
    args = parser.parse_args(argv)
    folder = args.datasets / "nab-tweets-dev"
    if not folder.is_dir():
        print(f"skip: {folder} not found")
        return
    weights = PROFILES[args.profile]
    names = sorted(json.loads((folder / "windows.json").read_text()))
    ours = {name: score_file(folder, name, args.sensitivity, weights) for name in names}
    windows = sum(score.windows for score in ours.values())
    print(f"NAB {args.profile} profile, brandmon spike detector ({args.sensitivity}, shipped defaults)\n")
    print(f"{'series':<28}{'windows':>8}{'detected':>9}{'FP':>5}{'alerts':>7}{'raw':>9}{'normalised':>11}")
    for name, score in ours.items():
        norm = normalised(score.raw, score.windows, weights["fn"])
        print(
            f"{name:<28}{score.windows:>8}{score.detected:>9}{score.false_positives:>5}"
            f"{score.alerts:>7}{score.raw:>9.3f}{norm:>11.1f}"
        )
    total = sum(score.raw for score in ours.values())
    print(
        f"{'total':<28}{windows:>8}{'':>21}{total:>9.3f}{normalised(total, windows, weights['fn']):>11.1f}\n"
    )
    if args.profile != "standard":
        return
    print(
        f"{'detector':<20}"
        + "".join(f"{name.split('_')[-1][:-4]:>9}" for name in names)
        + f"{'total':>9}{'normalised':>11}"
    )
    rows = [("brandmon (this)", {name: score.raw for name, score in ours.items()})]
    rows += list(published(folder, names).items())
    for detector, raws in sorted(rows, key=lambda item: -sum(item[1].values())):
        raw_total = sum(raws.values())
        print(
            f"{detector:<20}"
            + "".join(f"{raws.get(name, math.nan):>9.3f}" for name in names)
            + f"{raw_total:>9.3f}{normalised(raw_total, windows):>11.1f}"
        )


if __name__ == "__main__":
    main()
