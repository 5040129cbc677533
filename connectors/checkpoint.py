"""Per-source cursors on disk, written atomically, so a restarted connector resumes where it was.

One JSON file per source instance under `<data_dir>/cursors/`. A write goes to a temporary file
that is fsynced and renamed over the old one: a crash leaves the old cursor or the new, never half.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import orjson


class CheckpointStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, name: str) -> Path:
        return self.directory / f"{name}.json"

    def load(self, name: str) -> dict[str, Any] | None:
        try:
            data = orjson.loads(self._path(name).read_bytes())
        except FileNotFoundError:
            return None
        except orjson.JSONDecodeError as error:
            raise ValueError(
                f"cursor file {self._path(name)} is not JSON ({error}); delete it to start over"
            ) from None
        return data if isinstance(data, dict) else None

    def save(self, name: str, cursor: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(orjson.dumps(cursor, option=orjson.OPT_SORT_KEYS))
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self._path(name))
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
