"""brandmon's own CLI commands (Faust contributes `worker` and its table/agent tools)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click
import orjson
from prometheus_client import CollectorRegistry, start_http_server

from brandmon import schemas as contract
from brandmon.config import BrandmonConfig

CONFIG_HELP = "Brand/source YAML file [env: BRANDMON_CONFIG]"


@click.command()
@click.option("--duration", type=float, default=None, help="Stop after this many seconds (default: Ctrl-C).")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None, help=CONFIG_HELP)
@click.option("--seed", type=int, default=7, show_default=True, help="Simulator seed: runs repeat.")
@click.option("--rate", type=float, default=8.0, show_default=True, help="Base mentions per second.")
@click.option("--burst-after", type=float, default=45.0, show_default=True, help="Seconds until the rumour.")
def demo(
    duration: float | None, config_path: Path | None, seed: int, rate: float, burst_after: float
) -> None:
    """Live demo: embedded broker + worker + simulator + terminal view."""
    from brandmon.cli import DEMO_CONFIG, load_config_or_exit, load_settings
    from brandmon.demo import DemoOptions, run_demo

    settings = load_settings()
    path = config_path or (settings.config if settings.config.exists() else DEMO_CONFIG)
    config = load_config_or_exit(path)
    options = DemoOptions(config_path=path, duration=duration, seed=seed, rate=rate, burst_after=burst_after)
    asyncio.run(run_demo(settings, config, options))


@click.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None, help=CONFIG_HELP)
@click.option("--duration", type=float, default=None, help="Stop after this many seconds.")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--rate", type=float, default=8.0, show_default=True, help="Base mentions per second.")
@click.option("--burst-after", type=float, default=45.0, show_default=True, help="Seconds until the rumour.")
@click.option("--burst-brand", default=None, help="Brand id the rumour is about (default: the first).")
@click.option("--dry-run", is_flag=True, help="Print mentions as JSON lines instead of publishing.")
def simulate(
    config_path: Path | None,
    duration: float | None,
    seed: int,
    rate: float,
    burst_after: float,
    burst_brand: str | None,
    dry_run: bool,
) -> None:
    """Publish a realistic, seeded live stream of mentions (with a rumour burst) to the raw topic."""
    from brandmon.cli import DEMO_CONFIG, load_config_or_exit, load_settings
    from connectors.live_simulation import SimulationPlan, run_simulation

    settings = load_settings()
    if not dry_run and not settings.kafka_bootstrap:
        raise click.UsageError("set BRANDMON_KAFKA_BOOTSTRAP (or use --dry-run, or `brandmon demo`)")
    config = load_config_or_exit(
        config_path or (settings.config if settings.config.exists() else DEMO_CONFIG)
    )
    plan = SimulationPlan(seed=seed, rate=rate, burst_after=burst_after, burst_brand=burst_brand)
    asyncio.run(run_simulation(settings, config, plan, duration=duration, dry_run=dry_run))


@click.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None, help=CONFIG_HELP)
def score(config_path: Path | None) -> None:
    """Score mentions (JSON lines on stdin) exactly as the stream does; one JSON line out per mention."""
    from brandmon.cli import load_config_or_exit, load_settings
    from streams.decode import decode_raw
    from streams.scoring import MentionScorer

    settings = load_settings()
    config = load_config_or_exit(config_path or settings.config)
    scorer = MentionScorer(config.brands, config.languages)
    out = sys.stdout.buffer
    for number, line in enumerate(sys.stdin.buffer, start=1):
        if not line.strip():
            continue
        decoded = decode_raw(line.rstrip(b"\r\n"))
        for rejected in decoded.rejected:
            error = {"reason": rejected.reason, "detail": rejected.detail, "index": rejected.index}
            out.write(orjson.dumps({"line": number, "error": error}) + b"\n")
        for mention in decoded.mentions:
            result = scorer.score(mention)
            assert result is not None
            sentiment = None
            if result.sentiment is not None:
                sentiment = result.sentiment.model_dump(mode="json")
            record = {"id": mention.id, "lang": result.lang, "sentiment": sentiment, "brands": result.brands}
            out.write(orjson.dumps(record) + b"\n")
    out.flush()


@click.command()
@click.option("--write", is_flag=True, help="Rewrite the files instead of checking them.")
@click.option(
    "--dir", "directory", type=click.Path(path_type=Path), default=Path("schemas"), show_default=True
)
def schemas(write: bool, directory: Path) -> None:
    """Check (or --write) the JSON Schema files of brandmon's topics against the models."""
    stale = []
    for topic in contract.TOPIC_MODELS:
        path = directory / contract.schema_filename(topic)
        text = orjson.dumps(contract.json_schema(topic), option=orjson.OPT_INDENT_2).decode() + "\n"
        if write:
            directory.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        elif not path.exists() or path.read_text() != text:
            stale.append(str(path))
    if stale:
        raise click.ClickException(f"out of date: {', '.join(stale)}; run `brandmon schemas --write`")
    click.echo(
        f"{len(contract.TOPIC_MODELS)} schemas {'written to' if write else 'up to date in'} {directory}"
    )


def _source_problems(config: BrandmonConfig) -> list[str]:
    """Each configured connector built and asked to check its options, as `brandmon run` would."""
    from connectors.health import SourceMetrics
    from connectors.registry import build_source

    metrics, problems = SourceMetrics(CollectorRegistry()), []
    for index, entry in enumerate(config.sources):
        if entry.kind == "simulator":
            continue
        try:
            build_source(entry.kind, entry.name, entry.options, metrics).check()
        except (ValueError, TypeError) as error:
            problems.append(f"sources[{index}] ({entry.name}): {error}")
    return problems


@click.command("check-config")
@click.argument("path", type=click.Path(path_type=Path), required=False)
def check_config(path: Path | None) -> None:
    """Validate a brand/source YAML file; print each problem with its line and the fix.

    Brand queries are linted too: syntax errors (with the position and what was expected) fail
    the check; queries that can never match or are dangerously broad are printed as warnings."""
    from brandmon.cli import load_config_or_exit, load_settings
    from brandmon.config import query_warnings

    config = load_config_or_exit(path or load_settings().config)
    for warning in query_warnings(config):
        click.echo(f"warning: {warning}", err=True)
    broken = _source_problems(config)
    for problem in broken:
        click.echo(f"error: {problem}", err=True)
    if broken:
        sys.exit(2)
    groups = {b.competitors for b in config.brands if b.competitors}
    click.echo(
        f"ok: {len(config.brands)} brands, {len(groups)} competitor groups, {len(config.sources)} sources"
    )


@click.command()
@click.argument("name")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None, help=CONFIG_HELP)
@click.option("--dry-run", is_flag=True, help="Print the mentions as JSON lines instead of publishing them.")
@click.option("--limit", type=int, default=None, help="Stop after this many mentions.")
def connect(name: str, config_path: Path | None, dry_run: bool, limit: int | None) -> None:
    """Run the configured source NAME: publish its mentions to the raw topic (or --dry-run).

    Publishing resumes from the source's saved cursor (under BRANDMON_DATA_DIR/cursors), saved
    only after Kafka acknowledged the mentions; --dry-run reads from the start and saves nothing.
    """
    from brandmon.cli import load_config_or_exit, load_settings, prepare_kafka
    from connectors.checkpoint import CheckpointStore
    from connectors.health import SourceMetrics
    from connectors.publisher import MentionPublisher
    from connectors.registry import build_source
    from connectors.runner import DryRunSink, KafkaSink, run_source

    settings = load_settings()
    config = load_config_or_exit(config_path or settings.config)
    entry = next((s for s in config.sources if s.name == name), None)
    if entry is None:
        names = ", ".join(s.name for s in config.sources) or "none"
        raise click.BadParameter(
            f"no source named {name!r} in the config (configured: {names})", param_hint="NAME"
        )
    try:
        registry = CollectorRegistry()
        source = build_source(entry.kind, entry.name, entry.options, SourceMetrics(registry))
    except ValueError as error:
        raise click.ClickException(str(error)) from None

    async def publish(bootstrap: str) -> int:
        start_http_server(settings.connector_metrics_port, addr=settings.metrics_host, registry=registry)
        async with MentionPublisher(settings, bootstrap) as publisher:
            store = CheckpointStore(settings.data_dir / "cursors")
            return await run_source(source, KafkaSink(publisher), store, limit=limit)

    if dry_run:
        sent = asyncio.run(run_source(source, DryRunSink(), None, limit=limit))
    else:
        sent = asyncio.run(publish(prepare_kafka(settings)))
    click.echo(f"{name}: {sent} mentions {'printed' if dry_run else 'published'}", err=True)


@click.command("run")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None, help=CONFIG_HELP)
def run_command(config_path: Path | None) -> None:
    """Run every configured connector and a worker together until Ctrl-C."""
    from brandmon.cli import load_config_or_exit, load_settings, prepare_kafka
    from brandmon.run_all import run_all

    settings = load_settings()
    path = config_path or settings.config
    config = load_config_or_exit(path)
    asyncio.run(run_all(settings, config, path.resolve(), prepare_kafka(settings)))


@click.command("prometheus-rules")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None, help=CONFIG_HELP)
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path),
    default=Path("deploy/prometheus/rules"),
    show_default=True,
)
@click.option("--write", is_flag=True, help="Rewrite the share-of-voice rules instead of checking them.")
def prometheus_rules(config_path: Path | None, directory: Path, write: bool) -> None:
    """Check (or --write) the share-of-voice recording rules generated from the brand config."""
    from brandmon.cli import load_config_or_exit, load_settings
    from brandmon.prometheus_rules import render_rules, write_rules

    config = load_config_or_exit(config_path or load_settings().config)
    if write:
        click.echo(f"wrote {write_rules(config, directory)}")
        return
    path = directory / "brandmon-share-of-voice.yml"
    if not path.exists() or path.read_text() != render_rules(config):
        raise click.ClickException(f"out of date: {path}; run `brandmon prometheus-rules --write`")
    click.echo(f"{path} up to date")
