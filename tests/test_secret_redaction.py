"""Secrets never show in logs, errors or `--help`, checked on real runs at DEBUG.

Every secret a deployment gives brandmon gets a distinctive fake value; `brandmon -l debug run`
then runs every kind of connector that takes one (Reddit OAuth, a Mastodon token, a private RSS
feed URL, webhook bearer token and HMAC secret) and a worker on the embedded broker, each secret
used for real against local HTTP servers, until mentions arrive scored. Everything the run wrote
(stdout, stderr, the worker's log) is then searched for each value. The embedded broker cannot
run SASL, so the Kafka password is checked where it can be used here: clients that attempt SASL
against it (refused at the handshake) at DEBUG, and the exact request aiokafka logs when a broker
accepts SASL/PLAIN, which carries the password in clear, produced by aiokafka's own code.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import orjson
import psutil
import pytest
from pydantic import ValidationError

from brandmon.broker import free_port
from brandmon.redaction import REDACTED, Redactor
from brandmon.schemas import SCORED_TOPIC, ScoredMention
from brandmon.settings import Settings
from connectors.webhook_auth import signature
from tests.conftest import TEST_CONFIG, wait_for
from tests.kafka_helpers import mention, read_topic

KAFKA_PASSWORD = "kafka-pw-Zq93-leakcheck"
REDDIT_ID = "reddit-id-Hq82-leakcheck"
REDDIT_SECRET = "reddit-secret-Pw71-leakcheck"
REDDIT_ACCESS_TOKEN = "reddit-access-Lk55-leakcheck"
MASTODON_TOKEN = "mastodon-token-Xe40-leakcheck"
WEBHOOK_TOKEN = "webhook-token-Rt66-leakcheck"
WEBHOOK_SECRET = "webhook-hmac-Yu19-leakcheck"
FEED_TOKEN = "feed-path-Km28-leakcheck"
GRAFANA_TOKEN = "grafana-token-Bv12-leakcheck"
SECRETS = {
    "Kafka SASL password": KAFKA_PASSWORD,
    "Reddit client id": REDDIT_ID,
    "Reddit client secret": REDDIT_SECRET,
    "Reddit client id:secret as HTTP Basic": base64.b64encode(
        f"{REDDIT_ID}:{REDDIT_SECRET}".encode()
    ).decode(),
    "Reddit access token": REDDIT_ACCESS_TOKEN,
    "Mastodon token": MASTODON_TOKEN,
    "webhook bearer token": WEBHOOK_TOKEN,
    "webhook HMAC secret": WEBHOOK_SECRET,
    "private feed URL token": FEED_TOKEN,
    "Grafana token": GRAFANA_TOKEN,
}


def leaks(text: str) -> list[str]:
    return [name for name, value in SECRETS.items() if value in text]


def secret_env(**extra: str) -> dict[str, str]:
    """The test's environment without BRANDMON_* of the developer's shell, plus the secrets (each
    in the variable a source's `*_env` option names; Grafana's where `grafana push` looks)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRANDMON_")}
    env.update(
        REDDIT_CLIENT_ID=REDDIT_ID,
        REDDIT_CLIENT_SECRET=REDDIT_SECRET,
        MASTODON_ACCESS=MASTODON_TOKEN,
        WEBHOOK_BEARER=WEBHOOK_TOKEN,
        WEBHOOK_HMAC=WEBHOOK_SECRET,
        GRAFANA_TOKEN=GRAFANA_TOKEN,
    )
    env.update(extra)
    return env


# --- local stand-ins for Reddit, a Mastodon instance and a private feed ------------------------


class Upstreams(ThreadingHTTPServer):
    """Reddit's token and listing endpoints, a Mastodon timeline and an RSS feed on loopback;
    records the method, path and Authorization header of every request."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _UpstreamHandler)
        self.seen: list[tuple[str, str, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _UpstreamHandler(BaseHTTPRequestHandler):
    server: Upstreams

    def log_message(self, format: str, *args: object) -> None:  # the test's own output stays quiet
        pass

    def _answer(self, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append(("POST", self.path, self.headers.get("Authorization", "")))
        if self.path == "/reddit-auth/api/v1/access_token":
            self._answer(orjson.dumps({"access_token": REDDIT_ACCESS_TOKEN, "expires_in": 3600}))
        else:
            self.send_error(404)

    def do_GET(self) -> None:
        self.server.seen.append(("GET", self.path, self.headers.get("Authorization", "")))
        if self.path.startswith("/reddit-api/"):
            self._answer(orjson.dumps({"kind": "Listing", "data": {"children": [], "after": None}}))
        elif self.path.startswith("/mastodon/api/v1/timelines/"):
            self._answer(b"[]")
        elif self.path == f"/feeds/{FEED_TOKEN}":
            now = format_datetime(datetime.now(UTC), usegmt=True)
            self._answer(
                f"""<?xml version="1.0"?><rss version="2.0"><channel><title>alerts</title>
                <item><guid>feed-item-1</guid><title>Acme ships a new anvil</title>
                <link>https://news.example/acme-anvil</link><pubDate>{now}</pubDate>
                <description>Acme announced an anvil today.</description></item>
                </channel></rss>""".encode(),
                "application/rss+xml",
            )
        else:
            self.send_error(404)


@pytest.fixture
def upstreams() -> Iterator[Upstreams]:
    server = Upstreams()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def run_config(path: Path, upstreams: Upstreams, webhook_port: int) -> Path:
    sources = [
        {
            "kind": "webhook",
            "name": "partner-hook",
            "options": {"port": webhook_port, "token_env": "WEBHOOK_BEARER", "secret_env": "WEBHOOK_HMAC"},
        },
        {
            "kind": "reddit",
            "name": "reddit",
            "options": {
                "user_agent": "test:brandmon:1.0 (by /u/test)",
                "client_id_env": "REDDIT_CLIENT_ID",
                "client_secret_env": "REDDIT_CLIENT_SECRET",
                "subreddits": ["acme"],
                "auth_url": f"{upstreams.url}/reddit-auth",
                "oauth_url": f"{upstreams.url}/reddit-api",
                "poll_seconds": 1,  # `run` stops between pages: a long poll delays Ctrl-C
            },
        },
        {
            "kind": "mastodon",
            "name": "mastodon",
            "options": {
                "instance": f"{upstreams.url}/mastodon",
                "mode": "poll",
                "token_env": "MASTODON_ACCESS",
                "poll_seconds": 1,
            },
        },
        {"kind": "rss", "name": "alerts", "options": {"feeds_env": "PRIVATE_FEEDS", "poll_seconds": 1}},
    ]
    path.write_text(TEST_CONFIG + "sources: " + json.dumps(sources) + "\n")
    return path


@pytest.mark.broker
def test_a_full_debug_run_logs_no_secret(settings: Settings, tmp_path: Path, upstreams: Upstreams) -> None:
    webhook_port = free_port()
    config = run_config(tmp_path / "run.yaml", upstreams, webhook_port)
    data = tmp_path / "data"
    env = secret_env(
        BRANDMON_KAFKA_BOOTSTRAP=settings.kafka_bootstrap or "",
        BRANDMON_CONFIG=str(config),
        BRANDMON_DATA_DIR=str(data),
        BRANDMON_METRICS_PORT=str(free_port()),
        BRANDMON_CONNECTOR_METRICS_PORT=str(free_port()),
        PRIVATE_FEEDS=f"{upstreams.url}/feeds/{FEED_TOKEN}",
    )
    output = tmp_path / "run.log"
    with output.open("wb") as sink:
        run = subprocess.Popen(
            [sys.executable, "-m", "brandmon.cli", "-l", "debug", "run"],
            env=env,
            cwd=tmp_path,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        hook = f"http://127.0.0.1:{webhook_port}/ingest"
        wait_for(lambda: _listening(hook), 90, "the webhook to listen")
        bearer = mention(1, "acme by bearer token", source="webhook")
        signed = orjson.dumps(mention(2, "acme by signature", source="webhook").model_dump(mode="json"))
        now = str(int(time.time()))
        answers = [
            httpx.post(
                hook,
                json=bearer.model_dump(mode="json"),
                headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"},
            ),
            httpx.post(
                hook,
                content=signed,
                headers={
                    "Content-Type": "application/json",
                    "X-Brandmon-Timestamp": now,
                    "X-Brandmon-Signature": signature(WEBHOOK_SECRET.encode(), now, signed),
                },
            ),
        ]
        assert [a.status_code for a in answers] == [202, 202]
        refused = httpx.post(hook, json={}, headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}x"})
        assert refused.status_code == 401
        assert not leaks(refused.text)

        records = asyncio.run(read_topic(settings, SCORED_TOPIC, lambda r: len(r) >= 3, give_up_after=60))
        sources = sorted(ScoredMention.model_validate_json(v).mention.source for _, v in records)
        assert sources == ["rss", "webhook", "webhook"]
        # each credential reached its service: the secrets were loaded and used, not just set
        basic = "Basic " + SECRETS["Reddit client id:secret as HTTP Basic"]
        wait_for(
            lambda: (
                {
                    ("POST", "/reddit-auth/api/v1/access_token", basic),
                    ("GET", "/reddit-api/r/acme/new?limit=100&raw_json=1", f"bearer {REDDIT_ACCESS_TOKEN}"),
                }
                <= set(upstreams.seen)
                and any(
                    p.startswith("/mastodon/") and a == f"Bearer {MASTODON_TOKEN}"
                    for _, p, a in upstreams.seen
                )
            ),
            20,
            "Reddit and Mastodon to be called with their credentials",
        )
    finally:
        run.send_signal(signal.SIGINT)
        try:
            assert run.wait(30) == 0
        finally:
            kill_tree(run)
    logs = {"brandmon run (stdout and stderr)": output.read_text(errors="replace")}
    logs |= {str(p.relative_to(tmp_path)): p.read_text(errors="replace") for p in data.rglob("*.log")}
    assert "worker.log" in " ".join(logs)
    everything = "\n".join(logs.values())
    assert "[DEBUG] aiokafka" in everything, "the run did not log at DEBUG"
    assert "partner-hook" in everything
    for name, text in logs.items():
        assert not leaks(text), f"{name} shows {leaks(text)}"


def kill_tree(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL a process that did not stop, and its children (the worker has its own session)."""
    if process.poll() is not None:
        return
    children = psutil.Process(process.pid).children(recursive=True)
    process.kill()
    process.wait()
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()


def _listening(url: str) -> bool:
    try:
        httpx.get(url, timeout=0.5)
    except httpx.TransportError:
        return False
    return True


# --- the Kafka password: SASL attempted for real, refused by the embedded broker ---------------


@pytest.mark.broker
@pytest.mark.parametrize(
    ("command", "mechanism", "password_from"),
    [
        (["-l", "debug", "connect", "partner-hook"], "SCRAM-SHA-512", "env"),
        (["-l", "debug", "connect", "partner-hook"], "PLAIN", "file"),
        (["worker", "--loglevel", "debug"], "SCRAM-SHA-256", "file"),
    ],
)
def test_a_refused_sasl_login_fails_clearly_without_the_password(
    command: list[str],
    mechanism: str,
    password_from: str,
    settings: Settings,
    tmp_path: Path,
    upstreams: Upstreams,
) -> None:
    config = run_config(tmp_path / "run.yaml", upstreams, free_port())
    env = secret_env(
        BRANDMON_KAFKA_BOOTSTRAP=settings.kafka_bootstrap or "",
        BRANDMON_CONFIG=str(config),
        BRANDMON_DATA_DIR=str(tmp_path / "data"),
        BRANDMON_METRICS_PORT=str(free_port()),
        BRANDMON_CONNECTOR_METRICS_PORT=str(free_port()),
        BRANDMON_KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
        BRANDMON_KAFKA_SASL_MECHANISM=mechanism,
        BRANDMON_KAFKA_SASL_USERNAME="brandmon",
    )
    if password_from == "env":
        env["BRANDMON_KAFKA_SASL_PASSWORD"] = KAFKA_PASSWORD
    else:
        (tmp_path / "kafka-password").write_text(KAFKA_PASSWORD + "\n")
        env["BRANDMON_KAFKA_SASL_PASSWORD_FILE"] = str(tmp_path / "kafka-password")
    done = subprocess.run(
        [sys.executable, "-m", "brandmon.cli", *command],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert (
        f"error: cannot use Kafka at {settings.kafka_bootstrap} (SASL_PLAINTEXT, {mechanism} as brandmon)"
        in output
    )
    assert "UnsupportedSaslMechanismError" in output  # the broker's answer is in the log
    assert not leaks(output), leaks(output)


AIOKAFKA_PLAIN_LOGIN = """
import asyncio, contextlib, sys
from aiokafka.conn import AIOKafkaConnection, SaslPlainAuthenticator
from aiokafka.protocol.admin import SaslAuthenticateRequest
from brandmon.cli import configure_logging, load_settings, start_up

settings = start_up() if sys.argv[1] == "redacted" else load_settings()
configure_logging("debug", None)

async def main() -> None:
    host, port = settings.kafka_bootstrap.split(":")
    connection = AIOKafkaConnection(host, int(port))
    await connection.connect()
    plain = SaslPlainAuthenticator(
        loop=asyncio.get_running_loop(),
        sasl_plain_username=settings.kafka_sasl_username,
        sasl_plain_password=settings.sasl_password(),
    )
    payload, _ = await plain.step(None)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(connection.send(SaslAuthenticateRequest(payload)), 5)
    connection.close()

asyncio.run(main())
"""


@pytest.mark.broker
def test_aiokafkas_debug_log_of_a_plain_login_is_redacted(settings: Settings, tmp_path: Path) -> None:
    """With SASL/PLAIN, aiokafka logs the SaslAuthenticate request at DEBUG, password bytes and
    all. Here aiokafka's own authenticator and connection send it to the embedded broker (which
    refuses it): without brandmon's start-up the password is in the log, with it it is not."""
    env = secret_env(
        BRANDMON_KAFKA_BOOTSTRAP=settings.kafka_bootstrap or "",
        BRANDMON_KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
        BRANDMON_KAFKA_SASL_MECHANISM="PLAIN",
        BRANDMON_KAFKA_SASL_USERNAME="brandmon",
        BRANDMON_KAFKA_SASL_PASSWORD=KAFKA_PASSWORD,
    )
    outputs = {}
    for mode in ("plain", "redacted"):
        done = subprocess.run(
            [sys.executable, "-c", AIOKAFKA_PLAIN_LOGIN, mode],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        outputs[mode] = done.stderr
        assert "SaslAuthenticateRequest" in done.stderr
    assert KAFKA_PASSWORD in outputs["plain"], "aiokafka no longer logs the password: simplify docs"
    assert KAFKA_PASSWORD not in outputs["redacted"]
    assert f"brandmon\\x00{REDACTED}" in outputs["redacted"]


# --- --help, error messages, validation errors ---------------------------------------------------

HELP_SCRIPT = """
from click.testing import CliRunner
from brandmon.cli import _register_commands

cli = _register_commands()
paths = [[]]
for name, command in sorted(cli.commands.items()):
    paths.append([name])
    for sub in sorted(getattr(command, "commands", {})):
        paths.append([name, sub])
for path in paths:
    result = CliRunner().invoke(cli, [*path, "--help"], prog_name="brandmon")
    print("=== brandmon", " ".join(path), "--help exit", result.exit_code)
    print(result.output)
"""


def test_no_help_text_shows_a_secret_from_the_environment(tmp_path: Path) -> None:
    env = secret_env(
        BRANDMON_KAFKA_BOOTSTRAP="kafka.example:9093",
        BRANDMON_KAFKA_SECURITY_PROTOCOL="SASL_SSL",
        BRANDMON_KAFKA_SASL_USERNAME="brandmon",
        BRANDMON_KAFKA_SASL_PASSWORD=KAFKA_PASSWORD,
        PRIVATE_FEEDS=f"https://feeds.example/{FEED_TOKEN}",
    )
    every = subprocess.run(
        [sys.executable, "-c", HELP_SCRIPT], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert every.returncode == 0, every.stderr
    sections = every.stdout.split("=== brandmon")[1:]
    shown = {section.split("--help")[0].strip() for section in sections}
    assert {"", "run", "connect", "demo", "worker", "grafana push", "check-config"} <= shown
    assert all("exit 0" in section.splitlines()[0] and "Usage:" in section for section in sections)
    assert not leaks(every.stdout + every.stderr)
    for argv in (["--help"], ["run", "--help"], ["grafana", "push", "--help"]):  # as users type them
        done = subprocess.run(
            [sys.executable, "-m", "brandmon.cli", *argv], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert "Usage:" in done.stdout
        assert not leaks(done.stdout + done.stderr)


def test_grafana_push_failing_does_not_print_its_token(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "brandmon.cli", "grafana", "push", "--url", "http://127.0.0.1:9"],
        env=secret_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "Error" in done.stderr
    assert not leaks(done.stdout + done.stderr)


def test_a_settings_error_names_the_variable_but_never_echoes_the_password(tmp_path: Path) -> None:
    """The settings-wide check's input holds every value: pydantic would print it whole."""
    env = secret_env(BRANDMON_KAFKA_SECURITY_PROTOCOL="SASL_SSL", BRANDMON_KAFKA_SASL_PASSWORD=KAFKA_PASSWORD)
    done = subprocess.run(
        [sys.executable, "-m", "brandmon.cli", "check-config"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert (
        "error: BRANDMON_KAFKA_SECURITY_PROTOCOL is SASL_SSL but BRANDMON_KAFKA_SASL_USERNAME" in done.stderr
    )
    assert not leaks(done.stdout + done.stderr)


@pytest.mark.parametrize(
    "given",
    [
        {"kafka_security_protocol": "SASL_SSL", "kafka_sasl_password": KAFKA_PASSWORD},
        {"kafka_sasl_password": KAFKA_PASSWORD, "kafka_security_protocol": "TLS"},
        {"kafka_sasl_password": [KAFKA_PASSWORD]},
        {"kafka_bootstrap": f"brandmon:{KAFKA_PASSWORD}@kafka:9093"},
    ],
    ids=["incomplete-sasl", "unknown-protocol", "password-not-a-string", "password-in-bootstrap"],
)
def test_no_validation_error_echoes_a_secret(given: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as info:
        Settings.model_validate(given)
    assert KAFKA_PASSWORD not in str(info.value)  # what a traceback or a logged error shows
    # what the CLI prints (`errors()` itself keeps the input: never print it without this)
    assert KAFKA_PASSWORD not in repr(info.value.errors(include_input=False))


def test_settings_repr_masks_the_password() -> None:
    settings = Settings(
        kafka_bootstrap="kafka:9093",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="brandmon",
        kafka_sasl_password=KAFKA_PASSWORD,
    )
    assert KAFKA_PASSWORD not in repr(settings) + str(settings) + str(settings.model_dump())


# --- the redactor itself -------------------------------------------------------------------------


def test_the_redactor_replaces_secrets_also_inside_reprs_and_prefers_the_longest() -> None:
    redactor = Redactor()
    redactor.register("tok-123456")
    redactor.register("tok-123456-extended")
    redactor.register("pw'é-123456\n")  # read from a file: the newline is not part of it
    redactor.register("short")  # shorter than MIN_LENGTH: ordinary words must stay readable
    login = "\0".join(["user", "pw'é-123456"]).encode()
    text = f"a tok-123456-extended b tok-123456 c {login!r} d pw'é-123456 short"
    assert redactor.redact(text) == f'a {REDACTED} b {REDACTED} c b"user\\x00{REDACTED}" d {REDACTED} short'
