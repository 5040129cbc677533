"""Kafka over TLS and SASL (PLAIN, SCRAM-SHA-256/512), configured through `BRANDMON_*` variables.

The embedded broker cannot run SASL (memory storage, no way to create the first user) or TLS, so
these tests assert the client configuration instead, on the real objects: the Faust app's
`broker_credentials`, what Faust's aiokafka driver turns them into, the aiokafka producer and
consumer Faust itself builds from them, and every aiokafka client brandmon builds itself. The TLS
contexts come from a throwaway CA made with `openssl` for each test session, and one handshake
against a local TLS server that demands a client certificate shows each context trusts that CA
and presents the client certificate. See docs/security.md.
"""

from __future__ import annotations

import ast
import asyncio
import os
import ssl
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faust
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from brandmon.config import BrandmonConfig, load_config
from brandmon.kafka import client_kwargs
from brandmon.settings import KafkaSettingsError, Settings
from connectors.publisher import MentionPublisher
from streams.app import create_app
from tests.conftest import REPO, TEST_CONFIG

BOOTSTRAP = "kafka-1.example.internal:9093,kafka-2.example.internal:9093"
USERNAME = "brandmon-svc"
PASSWORD = 'sasl-pw-Q7r!x9 "quoted" and spaced'
CLIENT_CN = "brandmon-client"
CA_CN = "brandmon test CA"
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass(frozen=True)
class Pki:
    ca: Path
    cert: Path
    key: Path
    server_cert: Path
    server_key: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A CA, a client certificate (CN brandmon-client) and a server certificate for localhost."""
    d = tmp_path_factory.mktemp("pki")
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj",
             f"/CN={CA_CN}", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)  # fmt: skip
    for name, cn, extra in (
        ("client", CLIENT_CN, "extendedKeyUsage=clientAuth"),
        ("server", "localhost", "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1"),
    ):
        (d / f"{name}.ext").write_text(f"basicConstraints=CA:FALSE\n{extra}\n")
        _openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext",
                 cwd=d)  # fmt: skip
    return Pki(d / "ca.pem", d / "client.pem", d / "client.key", d / "server.pem", d / "server.key")


@pytest.fixture
def config(tmp_path: Path) -> BrandmonConfig:
    path = tmp_path / "brands.yaml"
    path.write_text(TEST_CONFIG)
    return load_config(path)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No `BRANDMON_*` variable of the developer's shell leaks into a test's settings."""
    for name in [n for n in os.environ if n.startswith("BRANDMON_")]:
        monkeypatch.delenv(name)
    return monkeypatch


@dataclass(frozen=True)
class Case:
    protocol: str
    mechanism: str | None = None
    password_from: str | None = None  # "env" or "file"

    @property
    def sasl(self) -> bool:
        return self.protocol.startswith("SASL")

    @property
    def tls(self) -> bool:
        return self.protocol.endswith("SSL")

    def __str__(self) -> str:
        return "-".join(part for part in (self.protocol, self.mechanism, self.password_from) if part)


CASES = [
    Case("PLAINTEXT"),
    Case("SSL"),
    *(
        Case(protocol, mechanism, source)
        for protocol in ("SASL_PLAINTEXT", "SASL_SSL")
        for mechanism in MECHANISMS
        for source in ("env", "file")
    ),
]


def settings_from_env(case: Case, pki: Pki, env: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    """Settings as a deployment gives them: environment variables (and a mounted password file)."""
    env.setenv("BRANDMON_KAFKA_BOOTSTRAP", BOOTSTRAP)
    env.setenv("BRANDMON_KAFKA_SECURITY_PROTOCOL", case.protocol)
    env.setenv("BRANDMON_DATA_DIR", str(tmp_path / "data"))
    if case.sasl:
        assert case.mechanism is not None
        env.setenv("BRANDMON_KAFKA_SASL_MECHANISM", case.mechanism)
        env.setenv("BRANDMON_KAFKA_SASL_USERNAME", USERNAME)
        if case.password_from == "env":
            env.setenv("BRANDMON_KAFKA_SASL_PASSWORD", PASSWORD)
        else:
            secret = tmp_path / "kafka-password"
            secret.write_text(PASSWORD + "\n")  # as `kubectl create secret --from-file` often leaves it
            env.setenv("BRANDMON_KAFKA_SASL_PASSWORD_FILE", str(secret))
    if case.tls:
        env.setenv("BRANDMON_KAFKA_SSL_CAFILE", str(pki.ca))
        env.setenv("BRANDMON_KAFKA_SSL_CERTFILE", str(pki.cert))
        env.setenv("BRANDMON_KAFKA_SSL_KEYFILE", str(pki.key))
    return Settings()


def assert_tls_context(context: Any) -> None:
    """Verifies brokers (certificate and host name) against our CA only when it was configured."""
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    issuers = [dict(part[0] for part in ca["subject"]) for ca in context.get_ca_certs()]
    assert {"commonName": CA_CN} in issuers


def expected_auth(case: Case) -> dict[str, Any]:
    """What every aiokafka client must be given (the SSL context checked separately)."""
    expected: dict[str, Any] = {"security_protocol": case.protocol}
    if case.sasl:
        expected |= {
            "sasl_mechanism": case.mechanism,
            "sasl_plain_username": USERNAME,
            "sasl_plain_password": PASSWORD,
        }
    return expected


def client_auth(client: Any) -> dict[str, Any]:
    """The security settings an aiokafka client (AIOKafkaClient) connects with."""
    seen: dict[str, Any] = {"security_protocol": client._security_protocol}
    if client._security_protocol.startswith("SASL"):
        seen |= {
            "sasl_mechanism": client._sasl_mechanism,
            "sasl_plain_username": client._sasl_plain_username,
            "sasl_plain_password": client._sasl_plain_password,
        }
    return seen


@pytest.mark.parametrize("case", CASES, ids=str)
async def test_the_faust_app_and_the_clients_faust_builds_get_the_credentials(
    case: Case, pki: Pki, clean_env: pytest.MonkeyPatch, tmp_path: Path, config: BrandmonConfig
) -> None:
    settings = settings_from_env(case, pki, clean_env, tmp_path)
    app = create_app(settings, config, BOOTSTRAP, CollectorRegistry())
    credentials = app.conf.broker_credentials
    if case.sasl:
        assert isinstance(credentials, faust.SASLCredentials)
        assert (credentials.username, credentials.password) == (USERNAME, PASSWORD)
        assert credentials.mechanism.value == case.mechanism
        assert credentials.protocol.value == case.protocol
        assert PASSWORD not in repr(credentials)
    elif case.tls:
        assert isinstance(credentials, faust.SSLCredentials)
    else:
        assert credentials is None

    auth = dict(credentials_to_aiokafka_auth(credentials, app.conf.ssl_context))
    context = auth.pop("ssl_context", None)
    assert auth == expected_auth(case)
    if case.tls:
        assert_tls_context(context)
    else:
        assert context is None

    producer = app.producer._new_producer()
    consumer_thread = app.consumer._thread  # the thread Faust's consumer runs in, not started here
    consumer = consumer_thread._create_worker_consumer(app.transport)
    try:
        for client in (producer.client, consumer._client):
            assert client._bootstrap_servers == BOOTSTRAP.split(",")
            assert client_auth(client) == expected_auth(case)
            assert client._ssl_context is context
    finally:
        await producer.stop()
        await consumer.stop()
        consumer_thread.thread_loop.close()


@pytest.mark.parametrize("case", CASES, ids=str)
async def test_every_client_brandmon_builds_gets_the_credentials(
    case: Case, pki: Pki, clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = settings_from_env(case, pki, clean_env, tmp_path)
    publisher = MentionPublisher(settings, BOOTSTRAP)
    kwargs = client_kwargs(settings, BOOTSTRAP)
    producer = AIOKafkaProducer(**kwargs)  # streams.app's output producers and the test helpers
    consumer = AIOKafkaConsumer("brandmon.alerts.v1", **kwargs)  # demo view, grafana annotations
    admin = AIOKafkaAdminClient(**kwargs)  # ensure_topics
    clients = [publisher._producer.client, producer.client, consumer._client, admin._client]
    try:
        for client in clients:
            assert client_auth(client) == expected_auth(case)
            if case.tls:
                assert_tls_context(client._ssl_context)
            else:
                assert client._ssl_context is None
    finally:
        await publisher._producer.stop()
        await producer.stop()
        await consumer.stop()
        await admin.close()


CLIENT_CLASSES = {"AIOKafkaProducer", "AIOKafkaConsumer", "AIOKafkaAdminClient"}


def _client_constructions() -> list[tuple[str, ast.Call]]:
    found = []
    for package in ("brandmon", "streams", "connectors"):
        for path in sorted((REPO / package).rglob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call):
                    name = node.func.attr if isinstance(node.func, ast.Attribute) else None
                    name = node.func.id if isinstance(node.func, ast.Name) else name
                    if name in CLIENT_CLASSES | {"OutputProducer", "App", "BrandmonApp"}:
                        found.append((f"{path.relative_to(REPO)}:{node.lineno} {name}", node))
    return found


def _passes_client_kwargs(call: ast.Call) -> bool:
    return any(
        kw.arg is None
        and isinstance(kw.value, ast.Call)
        and isinstance(kw.value.func, ast.Name)
        and kw.value.func.id == "client_kwargs"
        for kw in call.keywords
    ) or any(
        isinstance(arg, ast.Call) and isinstance(arg.func, ast.Name) and arg.func.id == "client_kwargs"
        for arg in call.args
    )


def test_no_kafka_client_is_built_without_the_shared_settings() -> None:
    """Each aiokafka client in brandmon's code takes `**client_kwargs(...)` (OutputProducer gets
    them at its construction sites and splats them), and each Faust app `_credentials(...)`: a
    new client built another way would connect without TLS or SASL."""
    constructions = _client_constructions()
    names = {where.split()[-1] for where, _ in constructions}
    assert {"AIOKafkaProducer", "AIOKafkaConsumer", "AIOKafkaAdminClient", "BrandmonApp"} <= names
    bypassing = []
    for where, call in constructions:
        name = where.split()[-1]
        if name in {"App", "BrandmonApp"}:
            ok = any(
                kw.arg == "broker_credentials"
                and isinstance(kw.value, ast.Call)
                and isinstance(kw.value.func, ast.Name)
                and kw.value.func.id == "_credentials"
                for kw in call.keywords
            )
        elif name == "AIOKafkaProducer" and where.startswith("streams/output.py"):
            ok = any(kw.arg is None and ast.unparse(kw.value) == "self._kwargs" for kw in call.keywords)
        else:
            ok = _passes_client_kwargs(call)
        if not ok:
            bypassing.append(where)
    assert not bypassing, f"Kafka clients built without brandmon.kafka.client_kwargs: {bypassing}"


@asynccontextmanager
async def tls_server(pki: Pki) -> AsyncIterator[tuple[int, list[str]]]:
    """A TLS server on loopback with our server certificate that requires a client certificate
    signed by our CA; yields its port and the common names of the clients it accepted."""
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki.ca))
    server_context.load_cert_chain(str(pki.server_cert), str(pki.server_key))
    server_context.verify_mode = ssl.CERT_REQUIRED
    accepted: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peercert")
        accepted.append(dict(part[0] for part in peer["subject"])["commonName"])
        writer.write(b"ok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_context)
    try:
        yield server.sockets[0].getsockname()[1], accepted
    finally:
        server.close()
        await server.wait_closed()


async def handshake(port: int, context: ssl.SSLContext) -> bytes:
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=context, server_hostname="localhost"
    )
    try:
        return await reader.read()
    finally:
        writer.close()


@pytest.mark.parametrize("protocol", ["SSL", "SASL_SSL"])
async def test_the_tls_context_trusts_the_ca_and_presents_the_client_certificate(
    protocol: str, pki: Pki, clean_env: pytest.MonkeyPatch, tmp_path: Path, config: BrandmonConfig
) -> None:
    case = Case(protocol, "SCRAM-SHA-512" if protocol == "SASL_SSL" else None, "env")
    settings = settings_from_env(case, pki, clean_env, tmp_path)
    app = create_app(settings, config, BOOTSTRAP, CollectorRegistry())
    faust_context = credentials_to_aiokafka_auth(app.conf.broker_credentials)["ssl_context"]
    publisher = MentionPublisher(settings, BOOTSTRAP)
    try:
        async with tls_server(pki) as (port, accepted):
            assert await handshake(port, faust_context) == b"ok"
            assert await handshake(port, publisher._producer.client._ssl_context) == b"ok"
            assert accepted == [CLIENT_CN, CLIENT_CN]
    finally:
        await publisher._producer.stop()


async def test_a_server_certificate_from_another_ca_is_refused(
    pki: Pki, clean_env: pytest.MonkeyPatch, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The context really verifies: a broker whose certificate our CA did not sign is refused."""
    stranger = tmp_path_factory.mktemp("stranger")
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=another CA",
             cwd=stranger)  # fmt: skip
    settings_from_env(Case("SSL"), pki, clean_env, tmp_path)
    clean_env.setenv("BRANDMON_KAFKA_SSL_CAFILE", str(stranger / "ca.pem"))
    context = client_kwargs(Settings(), BOOTSTRAP)["ssl_context"]
    async with tls_server(pki) as (port, accepted):
        with pytest.raises(ssl.SSLCertVerificationError):
            await handshake(port, context)
    assert accepted == []


# --- misconfiguration: a clear error naming the variable and the fix, never the password ----------


def validation_message(env: pytest.MonkeyPatch, **values: str) -> str:
    for name, value in values.items():
        env.setenv(f"BRANDMON_{name.upper()}", value)
    with pytest.raises(ValidationError) as info:
        Settings()
    return str(info.value)


def test_sasl_without_a_username_names_the_variable_and_hides_the_password(
    clean_env: pytest.MonkeyPatch,
) -> None:
    message = validation_message(clean_env, kafka_security_protocol="SASL_SSL", kafka_sasl_password=PASSWORD)
    assert "BRANDMON_KAFKA_SASL_USERNAME is not set" in message
    assert PASSWORD not in message


def test_sasl_without_a_password_names_both_ways_to_give_one(clean_env: pytest.MonkeyPatch) -> None:
    message = validation_message(
        clean_env, kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_username=USERNAME
    )
    assert "no password is set" in message
    assert "BRANDMON_KAFKA_SASL_PASSWORD_FILE" in message


def test_credentials_with_a_protocol_that_does_not_send_them_are_refused(
    clean_env: pytest.MonkeyPatch,
) -> None:
    message = validation_message(clean_env, kafka_sasl_username=USERNAME, kafka_sasl_password=PASSWORD)
    assert "BRANDMON_KAFKA_SECURITY_PROTOCOL is PLAINTEXT" in message
    assert "SASL_SSL" in message
    assert PASSWORD not in message


def test_tls_files_without_tls_are_refused(clean_env: pytest.MonkeyPatch, pki: Pki) -> None:
    """Setting a CA but forgetting the protocol would otherwise connect in plain text."""
    message = validation_message(clean_env, kafka_ssl_cafile=str(pki.ca))
    assert "BRANDMON_KAFKA_SSL_CAFILE set but BRANDMON_KAFKA_SECURITY_PROTOCOL is PLAINTEXT" in message


def test_a_bootstrap_with_user_and_password_is_refused_without_echoing_it(
    clean_env: pytest.MonkeyPatch,
) -> None:
    message = validation_message(clean_env, kafka_bootstrap=f"{USERNAME}:{PASSWORD}@kafka:9093")
    assert "kafka_bootstrap" in message
    assert "BRANDMON_KAFKA_SASL_USERNAME" in message
    assert PASSWORD not in message


def test_a_missing_ca_file_names_the_variable_and_what_it_must_hold(
    clean_env: pytest.MonkeyPatch, pki: Pki, tmp_path: Path
) -> None:
    settings = settings_from_env(Case("SASL_SSL", "PLAIN", "env"), pki, clean_env, tmp_path)
    missing = tmp_path / "no-such-ca.pem"
    broken = settings.model_copy(update={"kafka_ssl_cafile": missing})
    with pytest.raises(KafkaSettingsError) as info:
        client_kwargs(broken, BOOTSTRAP)
    message = str(info.value)
    assert message.startswith(f"BRANDMON_KAFKA_SSL_CAFILE: cannot read {missing}")
    assert "PEM file of the CA" in message
    assert PASSWORD not in message


def test_a_ca_file_that_is_no_certificate_is_a_clear_error(
    clean_env: pytest.MonkeyPatch, pki: Pki, tmp_path: Path
) -> None:
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("this is not a certificate\n")
    clean_env.setenv("BRANDMON_KAFKA_SECURITY_PROTOCOL", "SSL")
    clean_env.setenv("BRANDMON_KAFKA_SSL_CAFILE", str(not_pem))
    with pytest.raises(KafkaSettingsError, match=r"BRANDMON_KAFKA_SSL_CAFILE: .* holds no usable"):
        client_kwargs(Settings(), BOOTSTRAP)


def test_a_key_that_does_not_match_the_certificate_is_a_clear_error(
    clean_env: pytest.MonkeyPatch, pki: Pki, tmp_path: Path
) -> None:
    settings = settings_from_env(Case("SSL"), pki, clean_env, tmp_path)
    clean_env.setenv("BRANDMON_KAFKA_SSL_KEYFILE", str(pki.server_key))
    with pytest.raises(KafkaSettingsError, match="BRANDMON_KAFKA_SSL_CERTFILE/BRANDMON_KAFKA_SSL_KEYFILE"):
        client_kwargs(Settings(), BOOTSTRAP)
    assert client_kwargs(settings, BOOTSTRAP)["ssl_context"] is not None


@pytest.mark.parametrize("content", [None, "", "  \n"], ids=["missing", "empty", "blank"])
async def test_an_unusable_password_file_fails_every_client_naming_the_variable(
    content: str | None,
    clean_env: pytest.MonkeyPatch,
    pki: Pki,
    tmp_path: Path,
    config: BrandmonConfig,
) -> None:
    settings = settings_from_env(Case("SASL_SSL", "SCRAM-SHA-512", "file"), pki, clean_env, tmp_path)
    secret = settings.kafka_sasl_password_file
    assert secret is not None
    if content is None:
        secret.unlink()
    else:
        secret.write_text(content)
    for build in (
        lambda: client_kwargs(settings, BOOTSTRAP),
        lambda: create_app(settings, config, BOOTSTRAP, CollectorRegistry()),
        lambda: MentionPublisher(settings, BOOTSTRAP),
    ):
        with pytest.raises(KafkaSettingsError) as info:
            build()
        reason = f"cannot read {secret}" if content is None else f"{secret} is empty"
        assert str(info.value).startswith(f"BRANDMON_KAFKA_SASL_PASSWORD_FILE: {reason}")


def test_a_rotated_password_file_is_read_by_the_next_client(
    clean_env: pytest.MonkeyPatch, pki: Pki, tmp_path: Path
) -> None:
    settings = settings_from_env(Case("SASL_SSL", "SCRAM-SHA-256", "file"), pki, clean_env, tmp_path)
    assert client_kwargs(settings, BOOTSTRAP)["sasl_plain_password"] == PASSWORD
    assert settings.kafka_sasl_password_file is not None
    settings.kafka_sasl_password_file.write_text("rotated-password-2\n")
    assert client_kwargs(settings, BOOTSTRAP)["sasl_plain_password"] == "rotated-password-2"
