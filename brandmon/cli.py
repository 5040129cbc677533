"""`brandmon`: Faust's click CLI (`brandmon worker`, `brandmon agents`, ...) plus brandmon's commands.

Settings come from `BRANDMON_*` variables (see `brandmon.settings`); each option below names the
variable it overrides. The worker starts the embedded broker when no bootstrap is configured.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click
from pydantic import ValidationError

from brandmon.config import BrandmonConfig, ConfigError, load_config
from brandmon.settings import Settings

DEMO_CONFIG = Path(__file__).with_name("demo.yaml")


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        for problem in error.errors(include_url=False):
            field = "_".join(str(part) for part in problem["loc"]).upper()
            name = f"BRANDMON_{field}" if field else "BRANDMON_* settings"
            click.echo(f"error: {name}: {problem['msg']}", err=True)
        sys.exit(2)


def load_config_or_exit(path: Path) -> BrandmonConfig:
    try:
        return load_config(path)
    except ConfigError as error:
        click.echo(f"error: invalid config\n{error}", err=True)
        sys.exit(2)


def prepare_kafka(settings: Settings) -> str:
    """Bootstrap address to use, starting the embedded broker if none is configured.

    The embedded broker lives as long as this process; topics are created before agents run.
    """
    from brandmon.broker import EmbeddedBroker
    from brandmon.kafka import ensure_topics

    bootstrap = settings.kafka_bootstrap
    if not bootstrap:
        broker = EmbeddedBroker().start()
        import atexit

        atexit.register(broker.stop)
        bootstrap = broker.bootstrap
        click.echo(f"brandmon: no BRANDMON_KAFKA_BOOTSTRAP, started embedded broker on {bootstrap}", err=True)
    asyncio.run(ensure_topics(settings, bootstrap))
    return bootstrap


def _run_worker(settings: Settings, argv: list[str]) -> None:
    from streams.app import create_app

    config = load_config_or_exit(settings.config)
    bootstrap = prepare_kafka(settings)
    app = create_app(settings, config, bootstrap)
    if not settings.web_enabled and not any(arg.startswith("--with-web") for arg in argv):
        sys.argv.insert(sys.argv.index("worker") + 1, "--without-web")
    app.main()


def _register_commands() -> click.Group:
    from faust.cli.faust import cli

    from brandmon.backtest import backtest
    from brandmon.commands import (
        check_config,
        connect,
        demo,
        prometheus_rules,
        run_command,
        schemas,
        score,
        simulate,
    )
    from brandmon.grafana_cli import grafana

    for command in (demo, simulate, score, schemas, check_config, connect, run_command, prometheus_rules):
        cli.add_command(command)
    cli.add_command(backtest)
    cli.add_command(grafana)
    cli.help = "brandmon: real-time brand monitoring. Faust's worker commands plus brandmon's own."
    return cli


def main() -> None:
    settings = load_settings()
    cli = _register_commands()
    if sys.argv[1:2] == ["worker"]:
        _run_worker(settings, sys.argv[2:])
        return
    cli(prog_name="brandmon")


if __name__ == "__main__":
    main()
