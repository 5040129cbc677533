"""`brandmon connect NAME --dry-run`, as users preview a source: the real CLI against recordings."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import orjson
import pytest

from tests.conftest import TEST_CONFIG
from tests.local_http import serve
from tests.test_connector_hackernews import ALGOLIA_DIR, EVER, Algolia, apple_and_front_page

pytestmark = pytest.mark.shared


async def test_dry_run_prints_a_sources_mentions_and_publishes_nothing(tmp_path: Path) -> None:
    if not ALGOLIA_DIR.is_dir():
        pytest.skip(f"../shared/fixtures/hackernews not present: {ALGOLIA_DIR}")
    hits = apple_and_front_page()
    async with serve({"/api/v1/search_by_date": Algolia(hits)}) as server:
        config = tmp_path / "brands.yaml"
        options = {"queries": ["apple"], "base_url": server.url, "once": True, "backfill_seconds": EVER}
        config.write_text(
            TEST_CONFIG
            + "sources:\n  - "
            + orjson.dumps({"kind": "hackernews", "name": "hn", "options": options}).decode()
            + "\n"
        )
        env = {
            **os.environ,
            "BRANDMON_DATA_DIR": str(tmp_path / "data"),
            "BRANDMON_KAFKA_BOOTSTRAP": "127.0.0.1:1",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "brandmon.cli",
            "connect",
            "hn",
            "--config",
            str(config),
            "--dry-run",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=tmp_path,
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    printed = [orjson.loads(line)["id"] for line in out.splitlines()]
    kinds = ({"story", "comment"}, {"poll", "pollopt", "job"})
    expected = {
        f"hackernews:{h['objectID']}"
        for h in hits["apple"]
        if kinds[0] & set(h["_tags"]) and not kinds[1] & set(h["_tags"])
    }
    assert set(printed) == expected
    assert len(printed) == len(set(printed))
    assert f"hn: {len(printed)} mentions printed" in err.decode()
    assert not (tmp_path / "data" / "cursors").exists(), "a dry run saves no cursor"
