"""infra/docker-compose.yml: every shared service, published on loopback only.
(No Docker daemon here: the file is checked as data; `docker compose config` is not run.)"""

from pathlib import Path

import yaml

import vreid

INFRA = Path(vreid.__file__).resolve().parents[2] / "infra"


def test_compose_has_every_shared_service_on_loopback():
    compose = yaml.safe_load((INFRA / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "mlflow", "prefect-server", "prefect-worker",
                             "ray-head"}
    for name, service in services.items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
    assert "postgresql://" in services["mlflow"]["command"]
    assert "--artifacts-destination" in services["mlflow"]["command"]
    prefect_db = services["prefect-server"]["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"]
    assert prefect_db.startswith("postgresql+asyncpg://")
    assert services["prefect-worker"]["environment"]["PREFECT_API_URL"] == \
        "http://prefect-server:4200/api"
    assert (INFRA / services["mlflow"]["build"]["dockerfile"].removeprefix("infra/")).is_file()
    for volume in services["postgres"]["volumes"]:
        if volume.startswith("./"):
            assert (INFRA / volume.split(":")[0]).is_file()
    for service in services.values():  # telemetry off everywhere
        env = service.get("environment", {})
        if service.get("image", "").startswith("vreid"):
            assert env.get("DO_NOT_TRACK") == "1"
