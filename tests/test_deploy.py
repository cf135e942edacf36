"""The production files: compose parses and says what the README promises; every setting is documented."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _env_example_names() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    # Optional settings whose default depends on something else are listed commented out.
    return set(re.findall(r"^(?:# )?([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


def test_env_example_lists_every_setting():
    """.env.example names every variable the bot, the queue and the engine read."""
    from bot.settings import BotSettings
    from models.settings import EngineSettings
    from worker.settings import QueueSettings

    documented = _env_example_names()
    missing = []
    for cls in (BotSettings, QueueSettings, EngineSettings):
        prefix = cls.model_config.get("env_prefix", "")
        for name, field in cls.model_fields.items():
            aliases = getattr(field.validation_alias, "choices", None) or [f"{prefix}{name}"]
            if not any(str(alias).upper() in documented for alias in aliases):
                missing.append(f"{cls.__name__}.{name}")
    assert not missing, f"not in .env.example: {missing}"


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.skip("docker-compose is not installed (Debian package docker-compose); compose file not parsed")
    # A copy beside an empty .env (compose requires the env_file to exist), leaving the checkout untouched.
    workdir = tmp_path_factory.mktemp("compose")
    shutil.copy(ROOT / "docker-compose.yml", workdir)
    (workdir / ".env").write_text("")
    args = [tool, "--profile", "dashboard", "config"]
    if _supports_json(tool):
        args += ["--format", "json"]
    out = subprocess.run(args, cwd=workdir, capture_output=True, text=True, check=True).stdout
    if out.lstrip().startswith("{"):
        return json.loads(out)
    import yaml

    return yaml.safe_load(out)


def _supports_json(tool: str) -> bool:
    help_text = subprocess.run([tool, "config", "--help"], capture_output=True, text=True).stdout
    return "--format" in help_text


def test_compose_services_and_health(compose):
    """Redis 7 keeps an append-only file and has a healthcheck; bot and worker wait for it to be healthy."""
    services = compose["services"]
    assert set(services) >= {"redis", "bot", "worker", "dashboard"}
    redis = services["redis"]
    assert redis["image"].startswith("redis:7")
    assert "--appendonly" in redis["command"] and "yes" in redis["command"]
    assert "healthcheck" in redis
    for name in ("bot", "worker"):
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_compose_worker_has_a_gpu_and_replicas(compose):
    """The worker reserves an NVIDIA GPU and scales with deploy.replicas; the bot needs no GPU."""
    deploy = compose["services"]["worker"]["deploy"]
    devices = deploy["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    assert deploy["replicas"] >= 1
    assert "deploy" not in compose["services"]["bot"]


def test_compose_ports_bind_to_localhost(compose):
    """No published port listens beyond 127.0.0.1."""
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            host_ip = port.get("host_ip") if isinstance(port, dict) else str(port).split(":")[0]
            assert host_ip == "127.0.0.1", f"{name} publishes {port}"


def test_dockerfile_is_cuda_non_root_with_healthcheck():
    """One CUDA-runtime image, dependencies in their own layer, running as a non-root user, with a healthcheck."""
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM nvidia/cuda:\S+-runtime-", text, flags=re.MULTILINE)
    assert re.search(r"^USER (?!root)\w+", text, flags=re.MULTILINE)
    assert "HEALTHCHECK" in text and "HF_HOME" in text
    # The dependency layer comes before the source is copied, so code edits reuse it.
    assert text.index("COPY pyproject.toml") < text.index("COPY --chown")
