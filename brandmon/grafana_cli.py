"""`brandmon grafana ...`: push the generated dashboards to a Grafana and annotate alert changes."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import click

from brandmon.grafana_push import GrafanaLike, annotate, connect, dashboards, push_dashboards

PROVISIONING = Path("deploy/grafana/provisioning")


def read_token(token_env: str, token_file: Path | None) -> str:
    token = token_file.read_text().strip() if token_file is not None else os.environ.get(token_env, "")
    if not token:
        where = str(token_file) if token_file is not None else f"${token_env}"
        raise click.UsageError(f"no Grafana service-account token in {where}")
    return token


@click.group()
def grafana() -> None:
    """Grafana: push dashboards, annotate rumour alerts (needs the `grafana` extra)."""


@grafana.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None, help="Brand config.")
@click.option("--out", type=click.Path(path_type=Path), default=PROVISIONING, show_default=True)
@click.option("--prometheus-url", default="http://prometheus:9090", show_default=True)
@click.option("--alertmanager-url", default="http://alertmanager:9093", show_default=True)
@click.option("--grafana-url", default="http://localhost:3000", show_default=True)
def generate(
    config_path: Path | None, out: Path, prometheus_url: str, alertmanager_url: str, grafana_url: str
) -> None:
    """Write Grafana's provisioning files (dashboards, data source, alert rules, playlist)."""
    from brandmon.cli import load_config_or_exit, load_settings
    from brandmon.grafana_dashboards import write_provisioning

    config = load_config_or_exit(config_path or load_settings().config)
    paths = write_provisioning(
        config, out, prometheus_url=prometheus_url, alertmanager_url=alertmanager_url, grafana_url=grafana_url
    )
    click.echo(f"wrote {len(paths)} files under {out}")


@grafana.command()
@click.option("--url", required=True, help="Grafana base URL, e.g. https://grafana.example.")
@click.option("--token-env", default="GRAFANA_TOKEN", show_default=True, help="Variable with the token.")
@click.option("--token-file", type=click.Path(path_type=Path), default=None, help="File with the token.")
@click.option(
    "--dashboards", "directory", type=click.Path(path_type=Path), default=PROVISIONING / "dashboards" / "json"
)
@click.option(
    "--annotate", "follow", is_flag=True, help="Then annotate each alert opened or resolved, until Ctrl-C."
)
def push(url: str, token_env: str, token_file: Path | None, directory: Path, follow: bool) -> None:
    """Upload the dashboards into the `brandmon` folder (overwriting) and optionally annotate alerts."""
    try:
        api = connect(url, read_token(token_env, token_file))
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None
    uids = push_dashboards(api, dashboards(directory))
    click.echo(f"pushed {len(uids)} dashboards to {url}: {', '.join(uids)}")
    if follow:
        asyncio.run(_annotate_forever(api))


async def _annotate_forever(api: GrafanaLike) -> None:
    from aiokafka import AIOKafkaConsumer

    from brandmon.cli import load_settings, prepare_kafka
    from brandmon.kafka import client_kwargs
    from brandmon.schemas import ALERTS_TOPIC, Alert

    settings = load_settings()
    bootstrap = prepare_kafka(settings)
    consumer = AIOKafkaConsumer(
        ALERTS_TOPIC,
        **client_kwargs(settings, bootstrap),
        group_id=f"{settings.group_id}-grafana-annotations",
    )
    await consumer.start()
    try:
        async for record in consumer:
            if record.value is not None:
                annotate(api, Alert.model_validate_json(record.value))
    finally:
        await consumer.stop()
