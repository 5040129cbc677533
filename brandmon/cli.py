"""`brandmon`: Faust's click CLI (`brandmon worker`, `brandmon agents`, ...) plus brandmon's commands.

Settings come from `BRANDMON_*` variables (see `brandmon.settings`); each option below names the
variable it overrides. The worker starts the embedded broker when no bootstrap is configured.
Secrets are registered with `brandmon.redaction` before anything runs, so log output and crash
tracebacks show `[redacted]` in their place. `brandmon -l debug -f FILE <command>` sets the log
level and file of brandmon's own commands as Faust's `-l`/`-f` do for the worker.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import sys
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from brandmon import redaction
from brandmon.config import BrandmonConfig, ConfigError, load_config
from brandmon.settings import KafkaSettingsError, Settings

DEMO_CONFIG = Path(__file__).with_name("demo.yaml")
LOG_LEVELS = {"crit": logging.CRITICAL, "error": logging.ERROR, "warn": logging.WARNING}
LOG_LEVELS |= {"info": logging.INFO, "debug": logging.DEBUG}
LOG_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"
QUIET_LOGGERS = ("httpx",)
"""Kept at WARNING or above: httpx logs each request's full URL at INFO, and a feed URL's path or
query may be a secret (connectors log the host only)."""


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        for problem in error.errors(include_url=False, include_input=False):
            field = "_".join(str(part) for part in problem["loc"]).upper()
            name = f"BRANDMON_{field}: " if field else ""
            click.echo(f"error: {name}{problem['msg']}", err=True)
        sys.exit(2)


def load_config_or_exit(path: Path) -> BrandmonConfig:
    try:
        config = load_config(path)
    except ConfigError as error:
        click.echo(f"error: invalid config\n{error}", err=True)
        sys.exit(2)
    redaction.register_source_options(source.options for source in config.sources)
    return config


def prepare_kafka(settings: Settings) -> str:
    """Bootstrap address to use, starting the embedded broker if none is configured.

    The embedded broker lives as long as this process; topics are created before agents run.
    """
    from brandmon.broker import EmbeddedBroker
    from brandmon.kafka import client_kwargs, ensure_topics

    bootstrap = settings.kafka_bootstrap
    if not bootstrap and settings.kafka_security_protocol != "PLAINTEXT":
        click.echo(
            f"error: BRANDMON_KAFKA_SECURITY_PROTOCOL is {settings.kafka_security_protocol} but "
            "BRANDMON_KAFKA_BOOTSTRAP is not set, and the embedded broker speaks PLAINTEXT only: "
            "set the brokers' addresses (or unset the security settings for a local run)",
            err=True,
        )
        sys.exit(2)
    client_kwargs(settings, bootstrap or "")  # a missing CA or password file fails before any start
    if not bootstrap:
        broker = EmbeddedBroker().start()
        import atexit

        atexit.register(broker.stop)
        bootstrap = broker.bootstrap
        click.echo(f"brandmon: no BRANDMON_KAFKA_BOOTSTRAP, started embedded broker on {bootstrap}", err=True)
    from aiokafka.errors import KafkaError

    try:
        asyncio.run(ensure_topics(settings, bootstrap))
    except KafkaError as error:
        security: str = settings.kafka_security_protocol
        if security.startswith("SASL"):
            security += f", {settings.kafka_sasl_mechanism} as {settings.kafka_sasl_username}"
        click.echo(
            f"error: cannot use Kafka at {bootstrap} ({security}): {error}; check "
            "BRANDMON_KAFKA_BOOTSTRAP and the BRANDMON_KAFKA_SECURITY_PROTOCOL, _SASL_* and _SSL_* "
            "settings (docs/security.md); the log above has the broker's answer",
            err=True,
        )
        sys.exit(2)
    return bootstrap


def _run_worker(settings: Settings, argv: list[str]) -> None:
    from streams.app import create_app

    config = load_config_or_exit(settings.config)
    bootstrap = prepare_kafka(settings)
    app = create_app(settings, config, bootstrap)
    if not settings.web_enabled and not any(arg.startswith("--with-web") for arg in argv):
        sys.argv.insert(sys.argv.index("worker") + 1, "--without-web")
    gc.collect()
    gc.freeze()  # start-up objects live as long as the worker: full collections skip them (~4%)
    app.main()


def _register_commands() -> click.Group:
    from faust.cli.faust import cli

    faust_commands = set(cli.commands)

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
    _configure_logging_of(cli, {*cli.commands} - faust_commands)
    return cli


def configure_logging(level: str | None, logfile: str | None) -> None:
    """Logging of brandmon's own commands (Faust configures the worker's)."""
    number = LOG_LEVELS.get((level or "warn").lower(), logging.WARNING)
    handler: logging.Handler = (
        logging.FileHandler(logfile, encoding="utf-8") if logfile else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(number)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(number, logging.WARNING))


def _configure_logging_of(cli: click.Group, commands: set[str]) -> None:
    """After Faust's group has parsed `-l`/`-f`, set up logging when one of `commands` runs."""
    prepare = cli.callback
    if prepare is None or getattr(prepare, "configures_logging", False):
        return
    from faust.cli.base import State

    @functools.wraps(prepare)
    def prepare_and_configure_logging(*args: Any, **kwargs: Any) -> Any:
        result = prepare(*args, **kwargs)
        context = click.get_current_context()
        if context.invoked_subcommand in commands:
            state = context.ensure_object(State)
            configure_logging(state.loglevel, state.logfile)
        return result

    prepare_and_configure_logging.configures_logging = True  # type: ignore[attr-defined]
    cli.callback = prepare_and_configure_logging


def start_up() -> Settings:
    """Redaction before anything can log, then the settings (whose password is registered too)."""
    redaction.install()
    redaction.register_environment()
    settings = load_settings()
    redaction.register_settings(settings)
    return settings


def main() -> None:
    settings = start_up()
    cli = _register_commands()
    try:
        if sys.argv[1:2] == ["worker"]:
            _run_worker(settings, sys.argv[2:])
            return
        cli(prog_name="brandmon")
    except KafkaSettingsError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
