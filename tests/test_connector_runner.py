"""The runner's promise: cursors move only after the sink has the page; a restart has no gap, no duplicate."""

from __future__ import annotations

import io
import random
from pathlib import Path

import orjson
import pytest
from prometheus_client import CollectorRegistry

from connectors.checkpoint import CheckpointStore
from connectors.health import SourceMetrics
from connectors.registry import build_source, source_class
from connectors.replay import ReplaySource
from connectors.runner import DryRunSink, run_source
from connectors.source import Page
from tests.test_spike_monitor import background


class FlakySink:
    """Keeps what it was sent; refuses the page after `fail_after` pages, as a broker outage would."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.ids: list[str] = []
        self.deleted: list[str] = []
        self.pages = 0
        self.fail_after = fail_after

    async def send(self, page: Page) -> None:
        if self.fail_after is not None and self.pages >= self.fail_after:
            raise ConnectionError("broker unavailable")
        self.pages += 1
        self.ids += [m.id for m in page.mentions]
        self.deleted += [d.id for d in page.deletions]


def history(tmp_path: Path, count: int = 120) -> tuple[Path, list[str]]:
    mentions = [r.mention for r in background(random.Random(3), count)]
    path = tmp_path / "history.jsonl"
    lines = [orjson.dumps(m.model_dump(mode="json")) for m in mentions]
    lines.insert(5, b"{not json")
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path, [m.id for m in mentions]


def replay(path: Path, registry: CollectorRegistry, page_size: int = 50) -> ReplaySource:
    source = build_source(
        "replay", "history", {"path": str(path), "page_size": page_size}, SourceMetrics(registry)
    )
    assert isinstance(source, ReplaySource)
    return source


async def test_a_crash_between_pages_resumes_with_no_gap_and_no_duplicate(tmp_path: Path) -> None:
    path, expected = history(tmp_path)
    store = CheckpointStore(tmp_path / "cursors")
    first = FlakySink(fail_after=2)
    with pytest.raises(ConnectionError):
        await run_source(replay(path, CollectorRegistry()), first, store)
    assert store.load("history") is not None
    second = FlakySink()
    await run_source(replay(path, CollectorRegistry()), second, store)
    assert first.ids + second.ids == expected


async def test_health_counts_published_mentions_and_unreadable_lines(tmp_path: Path) -> None:
    path, expected = history(tmp_path)
    registry = CollectorRegistry()
    await run_source(replay(path, registry), FlakySink(), CheckpointStore(tmp_path / "cursors"))
    assert registry.get_sample_value("brandmon_source_items_total", {"source": "history"}) == len(expected)
    assert (
        registry.get_sample_value("brandmon_source_errors_total", {"source": "history", "kind": "parse"}) == 1
    )


async def test_dry_run_prints_json_lines_and_saves_no_cursor(tmp_path: Path) -> None:
    path, expected = history(tmp_path)
    out = io.BytesIO()
    sent = await run_source(replay(path, CollectorRegistry()), DryRunSink(out), None, limit=7)
    lines = out.getvalue().splitlines()
    assert sent == 7
    assert [orjson.loads(line)["id"] for line in lines] == expected[:7]
    assert not (tmp_path / "cursors").exists()


def test_cursor_files_are_replaced_whole(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    store.save("feed", {"etag": "a"})
    store.save("feed", {"etag": "b"})
    assert store.load("feed") == {"etag": "b"}
    assert [p.name for p in tmp_path.iterdir()] == ["feed.json"]
    (tmp_path / "feed.json").write_text("{half")
    with pytest.raises(ValueError, match="delete it to start over"):
        store.load("feed")


def test_an_unbuilt_kind_names_the_available_ones() -> None:
    with pytest.raises(ValueError, match=r"available: .*replay"):
        source_class("myspace")


def test_check_config_builds_each_source_and_names_what_is_wrong(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from brandmon.commands import check_config

    config = tmp_path / "brands.yaml"
    config.write_text(
        "brands: [{id: acme, name: Acme, aliases: [acme]}]\n"
        "sources:\n"
        f"  - {{kind: replay, name: ok, options: {{path: '{config}'}}}}\n"
        "  - {kind: replay, name: missing, options: {path: /no/such/file.jsonl}}\n"
    )
    result = CliRunner().invoke(check_config, [str(config)])
    assert result.exit_code == 2
    assert "sources[1] (missing): replay needs options.path" in result.stderr
    assert "sources[0]" not in result.stderr
