"""The deployment files (deploy/: Dockerfile, docker-compose.yml, k8s/) agree with the code.

Pure checks, no Docker engine, cluster or network: the YAML parses, every `BRANDMON_*` name is a
real setting, compose mounts exist, no password or token is written down, workers stay within
the partition count, images are pinned, and every configured source has exactly one connector.
Kustomize is not run; the few parts of its semantics the checks need (resources, generator
literals with `behavior: merge`, `replicas:`, `images:`) are read here.
"""

from __future__ import annotations

import fnmatch
import functools
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from brandmon.config import load_config
from brandmon.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
DOCKERFILE = DEPLOY / "Dockerfile"
K8S = DEPLOY / "k8s"
BASE = K8S / "base"
PRODUCTION = K8S / "overlays" / "production"
BRANDS = BASE / "brands.yaml"
OWN_YAML = sorted([COMPOSE, *K8S.rglob("*.yaml"), *K8S.rglob("*.yml")])
OWN_FILES = [*OWN_YAML, DOCKERFILE, DEPLOY / "README.md"]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]

PREFIX = Settings.model_config.get("env_prefix", "")
SETTING_NAMES = {f"{PREFIX}{name}".upper() for name in Settings.model_fields}
SETTING_USE = re.compile(r"\bBRANDMON_[A-Z0-9_]*[A-Z0-9](?![A-Za-z0-9_*])")
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|TOKEN|SECRET|API_?KEY|CREDENTIAL|PRIVATE_KEY", re.IGNORECASE)
REFERENCE_NAME = re.compile(r"_(FILE|ENV)$", re.IGNORECASE)
"""A setting or option naming a file or a variable that holds the secret, not the secret."""
VARIABLE_NAME = re.compile(r"^([A-Z][A-Z0-9_]*|[a-z][a-z0-9_-]*)$")
PLACEHOLDER = re.compile(r"^<[^<>]+>$")
INTERPOLATION = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(:?[-?][^}]*)?\}$")
USERINFO_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s/:@]+:[^\s/@]+@", re.IGNORECASE)
PINNED_TAG = re.compile(r"^v?\d+(\.\d+)*(-[A-Za-z0-9.]+)*$")
EXTERNAL = {
    "prometheus": ("prometheus", "deploy/prometheus/prometheus.yml", "the Prometheus config and rules"),
    "alertmanager": ("alertmanager", "deploy/alertmanager/alertmanager.yml", "the Alertmanager routing"),
    "grafana": ("grafana/provisioning", "deploy/grafana/provisioning", "Grafana's provisioning"),
}
"""Compose service -> (directory it mounts, relative to deploy/; the file the service needs in it;
what that is). Written by other work: checked when present, skipped (saying why) until then."""


def load_all(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


def compose_services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = load_all(COMPOSE)[0]["services"]
    return services


def pair(item: str) -> tuple[str, str]:
    """`NAME=value` (an env list entry, a generator literal) as (NAME, value)."""
    name, _, value = item.partition("=")
    return name, value


def environment(section: object) -> dict[str, str | None]:
    """A compose `environment` (mapping or list of NAME=value) as a mapping."""
    if isinstance(section, dict):
        return {str(k): None if v is None else str(v) for k, v in section.items()}
    if isinstance(section, list):
        return {name: value for name, value in map(pair, section)}
    return {}


@dataclass
class Kustomized:
    """What a kustomization directory yields, as far as these checks need it."""

    docs: list[dict[str, Any]] = field(default_factory=list)
    literals: dict[str, dict[str, str]] = field(default_factory=dict)
    replicas: dict[str, int] = field(default_factory=dict)
    images: list[dict[str, Any]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def kustomize(directory: Path) -> Kustomized:
    spec = load_all(directory / "kustomization.yaml")[0]
    result = Kustomized()
    for entry in spec.get("resources", []):
        path = (directory / entry).resolve()
        if path.is_dir():
            inner = kustomize(path)
            result.docs += inner.docs
            result.literals = inner.literals
            result.replicas.update(inner.replicas)
            result.images += inner.images
            result.files += inner.files
        else:
            result.docs += load_all(path)
            result.files.append(path)
    for generator in spec.get("configMapGenerator", []):
        merged = result.literals.get(generator["name"], {}) if generator.get("behavior") == "merge" else {}
        merged = {**merged, **dict(map(pair, generator.get("literals", [])))}
        result.literals[generator["name"]] = merged
        result.files += [directory / name for name in generator.get("files", [])]
    result.replicas.update({item["name"]: int(item["count"]) for item in spec.get("replicas", [])})
    result.images += spec.get("images", [])
    result.files += [directory / patch["path"] for patch in spec.get("patches", []) if "path" in patch]
    return result


OVERLAYS = {"base": BASE, "production": PRODUCTION}


@functools.cache
def overlay(name: str) -> Kustomized:
    return kustomize(OVERLAYS[name])


def deployments(kustomized: Kustomized) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in kustomized.docs if d.get("kind") == "Deployment"}


def containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    pod = deployment["spec"]["template"]["spec"]
    found: list[dict[str, Any]] = [*pod.get("initContainers", []), *pod["containers"]]
    return found


def secret_problems(name: str, value: object) -> Iterator[str]:
    """Why `name: value` writes a secret down (nothing when it does not)."""
    if not VARIABLE_NAME.match(name) or not SECRET_NAME.search(name) or REFERENCE_NAME.search(name):
        return
    if isinstance(value, str | int | float) and str(value).strip():
        text = str(value).strip()
        if not (PLACEHOLDER.match(text) or INTERPOLATION.match(text)):
            yield f"{name} has a literal value; use a *_FILE setting, a Secret or ${{VARIABLE}}"


def written_secrets(node: object) -> Iterator[str]:
    """Secret values anywhere in a parsed YAML tree: mappings, k8s env entries, NAME=value lists."""
    if isinstance(node, dict):
        if {"name", "value"} <= node.keys() and isinstance(node["name"], str):
            yield from secret_problems(node["name"], node["value"])
        for key, value in node.items():
            yield from secret_problems(str(key), value)
            yield from written_secrets(value)
    elif isinstance(node, list):
        for item in node:
            yield from written_secrets(item)
    elif isinstance(node, str):
        if "=" in node and not node.startswith("-"):
            yield from secret_problems(*pair(node))
        if USERINFO_URL.search(node):
            yield "a URL carries user:password@"


def image_problem(image: str) -> str | None:
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    tag = last.partition(":")[2]
    if tag == "latest" or not PINNED_TAG.match(tag):
        return f"{image}: pin a version tag (not latest) or a digest"
    return None


@pytest.mark.parametrize("path", OWN_YAML, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_yaml_file_parses(path: Path) -> None:
    assert load_all(path), f"{path} has no documents"


def test_every_brandmon_variable_is_a_setting() -> None:
    assert PREFIX == "BRANDMON_"
    unknown = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in OWN_FILES
        for name in SETTING_USE.findall(path.read_text(encoding="utf-8"))
        if name not in SETTING_NAMES
    }
    assert not unknown, f"not fields of brandmon.settings.Settings: {sorted(unknown)}"


@pytest.mark.parametrize("path", [*OWN_YAML, DOCKERFILE], ids=lambda p: str(p.relative_to(DEPLOY)))
def test_no_secret_values_written_down(path: Path) -> None:
    if path == DOCKERFILE:
        lines = path.read_text(encoding="utf-8").replace("\\\n", " ").splitlines()
        pairs = [p for line in lines if line.startswith("ENV ") for p in line.split()[1:] if "=" in p]
        problems = [problem for item in pairs for problem in secret_problems(*pair(item))]
    else:
        docs = load_all(path)
        problems = [problem for doc in docs for problem in written_secrets(doc)]
        for doc in docs:
            if isinstance(doc, dict) and doc.get("kind") == "Secret":
                assert "data" not in doc, f"{path}: Secret with base64 `data`; use <placeholders>"
                for key, value in doc.get("stringData", {}).items():
                    assert PLACEHOLDER.match(str(value)), f"{path}: stringData.{key} is not a <placeholder>"
    assert not problems, f"{path.relative_to(ROOT)}: {sorted(set(problems))}"


def test_the_secret_check_catches_written_secrets() -> None:
    caught = yaml.safe_load(
        "environment: {KAFKA_PASSWORD: hunter2}\n"
        "env: [{name: WEBHOOK_TOKEN, value: abc123}]\n"
        "literals: [BRANDMON_KAFKA_SASL_PASSWORD=swordfish]\n"
        "options: {client_secret: xyz, url: 'https://bob:pw@example.com/feed'}\n"
    )
    fine = yaml.safe_load(
        "environment: {BRANDMON_KAFKA_SASL_PASSWORD_FILE: /run/secrets/pw, TOKEN: '${TOKEN:-}'}\n"
        "options: {token_env: WEBHOOK_TOKEN, secret_file: /run/secrets/hmac}\n"
        "stringData: {password: '<the password>'}\n"
        "volumes: [{secret: {secretName: brandmon-kafka}}]\n"
    )
    assert len(list(written_secrets(caught))) == 5
    assert not list(written_secrets(fine))


def test_secret_examples_are_never_applied() -> None:
    for name in OVERLAYS:
        assert not [d for d in overlay(name).docs if d.get("kind") == "Secret"], name
        assert not [f for f in overlay(name).files if ".example." in f.name], name


def test_kustomize_references_exist() -> None:
    for name in OVERLAYS:
        missing = [str(f) for f in overlay(name).files if not f.exists()]
        assert not missing, f"{name}: {missing}"


def test_compose_mounts_and_build_exist() -> None:
    external = {(DEPLOY / mounted).resolve() for mounted, _, _ in EXTERNAL.values()}
    for name, service in compose_services().items():
        if "build" in service:
            assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).is_file(), name
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith((".", "/")) and (DEPLOY / source).resolve() not in external:
                assert (DEPLOY / source).exists(), f"{name} mounts missing {source}"


@pytest.mark.parametrize("service", sorted(EXTERNAL))
def test_compose_mounts_the_monitoring_config(service: str) -> None:
    mounted, needed, what = EXTERNAL[service]
    spec = compose_services()[service]
    binds = {
        target: (DEPLOY / source).resolve()
        for source, target, *_ in (v.split(":") for v in spec["volumes"] if v.startswith("."))
    }
    assert (DEPLOY / mounted).resolve() in binds.values(), f"{service} does not mount deploy/{mounted}"
    for flag in spec.get("command", []):
        path = flag.removeprefix("--config.file=")
        for target, source in binds.items():  # a config read from a mount is the expected file
            if flag.startswith("--config.file=") and path.startswith(f"{target}/"):
                assert source / path.removeprefix(f"{target}/") == (ROOT / needed).resolve()
    if not (ROOT / needed).exists():
        pytest.skip(f"{needed} ({what}) is not written yet; docker-compose.yml mounts it from there")


def test_compose_prometheus_config_matches_the_host_config() -> None:
    """The compose variant of prometheus.yml keeps its job names (the alert rules select them)
    and loads every rule file it loads, from the mounted deploy/prometheus/."""
    spec = load_all(COMPOSE)[0]
    service = spec["services"]["prometheus"]
    (config,) = service["configs"]
    assert f"--config.file={config['target']}" in service["command"]
    inline = yaml.safe_load(spec["configs"][config["source"]]["content"])
    assert "./prometheus:/etc/prometheus:ro" in service["volumes"]
    targets = [
        t for am in inline["alerting"]["alertmanagers"] for s in am["static_configs"] for t in s["targets"]
    ]
    assert targets == ["alertmanager:9093"]
    assert [d["names"] for job in inline["scrape_configs"] for d in job["dns_sd_configs"]] == [["worker"]]
    host_file = DEPLOY / "prometheus" / "prometheus.yml"
    if not host_file.exists():
        pytest.skip("deploy/prometheus/prometheus.yml is not written yet: nothing to compare with")
    host = load_all(host_file)[0]
    missing_rules = [
        rule
        for rule in host.get("rule_files", [])
        if not any(fnmatch.fnmatch(f"/etc/prometheus/{rule}", pattern) for pattern in inline["rule_files"])
    ]
    assert not missing_rules, f"rule files of prometheus.yml not loaded in compose: {missing_rules}"
    host_jobs = {job["job_name"] for job in host["scrape_configs"]}
    assert {job["job_name"] for job in inline["scrape_configs"]} <= host_jobs


def test_brandmon_settings_in_compose_and_k8s_are_valid() -> None:
    """Settings accepts the values each deployment passes (types, ranges, SASL completeness)."""
    given: dict[str, dict[str, str | None]] = {
        "compose": environment(compose_services()["worker"]["environment"]),
        **{name: {**overlay(name).literals["brandmon-env"]} for name in OVERLAYS},
    }
    for name, values in given.items():
        fields = {k.removeprefix(PREFIX).lower(): v for k, v in values.items() if k.startswith(PREFIX)}
        assert Settings.model_validate(fields).metrics_host == "0.0.0.0", name


def test_worker_replicas_stay_within_the_partitions() -> None:
    worker = compose_services()["worker"]
    partitions = environment(worker["environment"]).get("BRANDMON_TOPIC_PARTITIONS")
    replicas = worker.get("scale", worker.get("deploy", {}).get("replicas"))
    if partitions is not None and replicas is not None:
        assert int(replicas) <= int(partitions), "compose"
    for name in OVERLAYS:
        kustomized = overlay(name)
        partitions = kustomized.literals["brandmon-env"]["BRANDMON_TOPIC_PARTITIONS"]
        worker = deployments(kustomized)["brandmon-worker"]
        replicas = kustomized.replicas.get("brandmon-worker", worker["spec"]["replicas"])
        assert 1 <= replicas <= int(partitions), f"{name}: {replicas} workers, {partitions} partitions"


def test_images_are_pinned() -> None:
    images = [s["image"] for s in compose_services().values()]
    for kustomized in map(overlay, OVERLAYS):
        images += [c["image"] for d in deployments(kustomized).values() for c in containers(d)]
        images += [f"{i.get('newName', i['name'])}:{i['newTag']}" for i in kustomized.images]
    text = DOCKERFILE.read_text(encoding="utf-8")
    images += re.findall(r"^FROM\s+(?:--\S+\s+)*(\S+)", text, flags=re.MULTILINE)
    problems = [problem for image in images if (problem := image_problem(image))]
    assert not problems
    brandmon = [i for i in images if i.split(":")[0].rsplit("/", 1)[-1] == "brandmon"]
    assert brandmon
    assert all(i.endswith(f":{VERSION}") for i in brandmon), f"tag brandmon's image {VERSION}: {brandmon}"


def test_every_source_has_exactly_one_connector() -> None:
    config = load_config(BRANDS)
    sources = {s.name: s for s in config.sources if s.kind != "simulator"}
    runs: dict[str, list[str]] = {}
    for name, service in compose_services().items():
        if service.get("command", [])[:1] == ["connect"]:
            runs.setdefault(f"compose {service['command'][1]}", []).append(name)
            in_compose = environment(service.get("environment")).keys()
            wanted = sources[service["command"][1]].options
            assert {v for k, v in wanted.items() if k.endswith("_env")} <= in_compose, name
    for where in OVERLAYS:
        for name, deployment in deployments(overlay(where)).items():
            (container,) = deployment["spec"]["template"]["spec"]["containers"]
            if container["args"][:1] == ["connect"]:
                runs.setdefault(f"{where} {container['args'][1]}", []).append(name)
                assert deployment["spec"]["replicas"] == 1, name
                in_pod = {e["name"] for e in container.get("env", [])}
                wanted = sources[container["args"][1]].options
                assert {v for k, v in wanted.items() if k.endswith("_env")} <= in_pod, name
    expected = {f"{where} {source}" for where in ("compose", *OVERLAYS) for source in sources}
    assert runs.keys() == expected, (
        f"connectors without a source or sources without one: {runs.keys() ^ expected}"
    )
    assert all(len(names) == 1 for names in runs.values()), runs


@pytest.mark.parametrize("name", sorted(OVERLAYS))
def test_pods_are_hardened(name: str) -> None:
    kustomized = overlay(name)
    settings = kustomized.literals["brandmon-env"]
    for deployment_name, deployment in deployments(kustomized).items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, deployment_name
        assert pod["enableServiceLinks"] is False, deployment_name
        assert pod["automountServiceAccountToken"] is False, deployment_name
        volumes = {v["name"]: v for v in pod["volumes"]}
        for container in containers(deployment):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, deployment_name
            assert context["allowPrivilegeEscalation"] is False, deployment_name
            assert context["capabilities"]["drop"] == ["ALL"], deployment_name
            assert {"requests", "limits"} <= container["resources"].keys(), deployment_name
            mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
            data = mounts[settings["BRANDMON_DATA_DIR"]]
            assert "emptyDir" in data or "persistentVolumeClaim" in data, deployment_name
            assert "emptyDir" in mounts["/tmp"], deployment_name
    worker_pod = deployments(kustomized)["brandmon-worker"]["spec"]["template"]["spec"]
    (worker,) = worker_pod["containers"]
    volumes = {v["name"]: v for v in worker_pod["volumes"]}
    data_volume = next(
        m["name"] for m in worker["volumeMounts"] if m["mountPath"] == settings["BRANDMON_DATA_DIR"]
    )
    assert "emptyDir" in volumes[data_volume], "worker tables come back from Kafka: no volume needed"
    ports = {p["name"]: p["containerPort"] for p in worker["ports"]}
    assert worker["readinessProbe"]["httpGet"]["path"] == "/metrics"
    assert ports[worker["readinessProbe"]["httpGet"]["port"]] == int(settings["BRANDMON_METRICS_PORT"])
