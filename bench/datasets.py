"""Where the evaluation datasets are: read in place from ../shared/datasets, never copied in."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def find_datasets(explicit: Path | None) -> Path | None:
    """--datasets, else $BRANDMON_DATASETS, else `shared/datasets` beside the repo or a parent of it."""
    if explicit is not None:
        return explicit
    if os.environ.get("BRANDMON_DATASETS"):
        return Path(os.environ["BRANDMON_DATASETS"])
    for base in (REPO, *REPO.parents, Path.cwd()):
        if (candidate := base.parent / "shared" / "datasets").is_dir():
            return candidate
    return None
