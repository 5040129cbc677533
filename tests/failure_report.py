"""Rows of the failure scenarios, printed as one table at the end of the test run."""

from __future__ import annotations

from typing import Any

ROWS: list[tuple[str, Any, float]] = []
HEADER = (
    f"{'scenario':<36} {'in':>7} {'scored':>7} {'lost':>5} {'dup':>6} {'windows!':>8} "
    f"{'alerts':>6} {'missing':>7} {'extra':>5} {'recovery s':>10}"
)


def lines() -> list[str]:
    rows = [
        f"{name:<36} {o.mentions_in:>7} {o.scored_unique:>7} {o.lost:>5} {o.duplicated:>6} "
        f"{o.windows_wrong:>8} {o.alerts_expected:>6} {o.alerts_missing:>7} {o.alerts_unexpected:>5} "
        f"{recovery:>10.1f}"
        for name, o, recovery in ROWS
    ]
    return [HEADER, *rows] if rows else []
