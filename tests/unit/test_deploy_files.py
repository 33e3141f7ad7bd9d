"""The deployment files of platform/ parse, and every path, module, command and extra they name exists.

No container engine runs here, so the Dockerfile, docker-compose.yml, Helm values and GitLab CI are
checked statically against the repository; the image's entry points are exercised by running the
same commands from the project's virtual environment (tests/integration/test_platform*.py).
"""

from __future__ import annotations

import re
import shlex
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from dagster_cfwb.platform_layout import read_workspace

ROOT = Path(__file__).resolve().parents[2]
PLATFORM = ROOT / "platform"
BIN = Path(sys.prefix) / "bin"
IMAGE_PLATFORM = "/opt/dagster/app/platform/"
YAML_FILES = [
    "workspace.yaml",
    "workspace.docker.yaml",
    "dagster.yaml",
    "dagster.demo.yaml",
    "docker-compose.yml",
    "helm/values.yaml",
    ".gitlab-ci.yml",
    "data_platform/dbt_project/dbt_project.yml",
    "data_platform/dbt_project/profiles.yml",
    "data_platform/dbt_project/models/sources.yml",
    "data_platform/dbt_project/models/schema.yml",
]


def _yaml(relative: str):
    return yaml.safe_load((PLATFORM / relative).read_text(encoding="utf-8"))


def _location_names() -> list[str]:
    return [location.name for location in read_workspace(PLATFORM)]


def _image_path_exists(path: str) -> bool:
    """A path inside the image under /opt/dagster/app/platform/ maps to platform/ here."""
    assert path.startswith(IMAGE_PLATFORM), path
    return (PLATFORM / path.removeprefix(IMAGE_PLATFORM)).exists()


def _module_exists(module: str, src: Path) -> bool:
    base = src / module.replace(".", "/")
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


@pytest.mark.parametrize("relative", YAML_FILES)
def test_yaml_files_parse(relative):
    assert _yaml(relative), f"{relative} is empty"


def test_workspace_lists_the_generic_and_department_locations():
    names = _location_names()
    assert names[0] == "data_platform"
    assert {"enseignement", "culture"} <= set(names)
    for location in read_workspace(PLATFORM):
        assert _module_exists(location.module_name, location.working_directory), location
        pyproject = tomllib.loads((location.project_dir / "pyproject.toml").read_text(encoding="utf-8"))
        assert pyproject["tool"]["dg"]["directory_type"] == "project"
        assert pyproject["tool"]["dg"]["project"]["root_module"] == location.name
        assert any(dep.startswith("dagster-cfwb") for dep in pyproject["project"]["dependencies"])
        assert (location.working_directory / location.name / "defs").is_dir()


def test_docker_workspace_matches_compose_services():
    compose = _yaml("docker-compose.yml")
    entries = [e["grpc_server"] for e in _yaml("workspace.docker.yaml")["load_from"]]
    assert [e["location_name"] for e in entries] == _location_names()
    for entry in entries:
        service = compose["services"][entry["host"]]
        command = service["command"]
        assert command[:3] == ["dagster", "code-server", "start"]
        assert command[command.index("-p") + 1] == str(entry["port"])
        assert command[command.index("--location-name") + 1] == entry["location_name"]
        module, src = command[command.index("-m") + 1], command[command.index("-d") + 1]
        assert _image_path_exists(src), src
        assert _module_exists(module, PLATFORM / src.removeprefix(IMAGE_PLATFORM)), module


def test_compose_is_driven_by_environment():
    text = (PLATFORM / "docker-compose.yml").read_text(encoding="utf-8")
    compose = yaml.safe_load(text)
    assert "${ENVIRONMENT:?" in compose["name"]
    for environment in ("dev", "staging", "prod"):
        settings = (PLATFORM / "env" / f"{environment}.env").read_text(encoding="utf-8")
        assert "DAGSTER_PG_HOST=" in settings
        keys = [line.split("=", 1)[0] for line in settings.splitlines() if line and not line.startswith("#")]
        assert not [k for k in keys if re.search("PASSWORD|TOKEN|WEBHOOK|SECRET|CONNECTION_STRING", k)], keys
    webserver, daemon = compose["services"]["webserver"], compose["services"]["daemon"]
    assert webserver["env_file"] == ["env/${ENVIRONMENT}.env"]
    assert webserver["environment"]["DAGSTER_PG_PASSWORD"].startswith("${DAGSTER_PG_PASSWORD:?")
    for command in (webserver["command"], daemon["command"]):
        assert (BIN / command[0]).exists(), command[0]
        assert _image_path_exists(command[command.index("-w") + 1])
    assert compose["services"]["postgres"]["image"].startswith("postgres:")


def test_helm_values_use_the_k8s_run_launcher_and_every_location():
    values = _yaml("helm/values.yaml")
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["postgresql"]["enabled"] is False
    queue = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert {"key": "cfwb/source", "value": "denodo", "limit": 3} in queue["tagConcurrencyLimits"]
    deployments = values["dagster-user-deployments"]["deployments"]
    assert len(deployments) == len(_location_names())
    for deployment in deployments:
        args = deployment["dagsterApiGrpcArgs"]
        module, src = args[args.index("-m") + 1], args[args.index("-d") + 1]
        assert _module_exists(module, PLATFORM / src.removeprefix(IMAGE_PLATFORM)), module


def test_gitlab_ci_order_matrix_and_deploy_rules():
    ci = _yaml(".gitlab-ci.yml")
    assert ci["stages"] == ["build", "validate", "lint", "test", "deploy"]
    assert ci["validate-definitions"]["parallel"]["matrix"][0]["LOCATION"] == _location_names()
    assert "dg check defs" in ci["validate-definitions"]["script"]
    assert ci["validate-definitions"]["script"].index("cfwb check") < ci["validate-definitions"][
        "script"
    ].index("dg check defs")
    assert any("sqlfluff lint" in line for line in ci["lint"]["script"])
    assert any("--cov" in line for line in ci["tests"]["script"])
    assert ci["deploy-dev"]["rules"] == [{"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"}]
    assert ci["deploy-staging"]["rules"] == [{"if": "$CI_COMMIT_TAG"}]
    assert ci["deploy-prod"]["rules"][0]["when"] == "manual"
    assert "platform/Dockerfile" in " ".join(ci["build-image"]["script"])


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = (PLATFORM / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_dockerfile_sources_commands_and_extras_exist():
    instructions = _dockerfile_instructions()
    extras = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
            "optional-dependencies"
        ]
    )
    for op, args in instructions:
        if op == "COPY" and "--from=" not in args:
            sources = [a for a in shlex.split(args) if not a.startswith("--")][:-1]
            for source in sources:
                assert (ROOT / source).exists(), f"COPY source `{source}` missing"
        if op == "RUN":
            for extra in re.findall(r"--extra (\w+)", args):
                assert extra in extras, f"extra `{extra}` not in pyproject.toml"
            for command in re.findall(r"/opt/dagster/venv/bin/(\w[\w-]*)", args):
                assert (BIN / command).exists(), command
    users = [args for op, args in instructions if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    cmd = [args for op, args in instructions if op == "CMD"][-1]
    assert yaml.safe_load(cmd)[0] == "dagster-webserver"
    assert any(op == "FROM" and "AS runtime" in args for op, args in instructions)


def test_production_dagster_yaml_settings():
    config = _yaml("dagster.yaml")
    storage = config["storage"]["postgres"]["postgres_db"]
    assert all(value["env"].startswith("DAGSTER_PG_") for value in storage.values())
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    limits = config["run_coordinator"]["config"]["tag_concurrency_limits"]
    assert {"key": "dagster/code_location", "value": {"applyLimitPerUniqueValue": True}, "limit": 6} in limits
    assert {"key": "cfwb/source", "value": "denodo", "limit": 3} in limits
    assert config["run_retries"]["enabled"] is True
    assert config["run_monitoring"]["enabled"] is True


def test_demo_dagster_yaml_is_a_valid_sqlite_instance(tmp_path, monkeypatch):
    import dagster as dg

    (tmp_path / "dagster.yaml").write_text((PLATFORM / "dagster.demo.yaml").read_text(encoding="utf-8"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.run_retries_enabled


DEPLOY_FILES = ["docker-compose.yml", "helm/values.yaml", ".gitlab-ci.yml", "Dockerfile"]


@pytest.mark.parametrize("relative", DEPLOY_FILES)
def test_no_image_is_tagged_latest(relative):
    """A `latest` tag deploys whatever was pushed last and cannot be rolled back to."""
    text = (PLATFORM / relative).read_text(encoding="utf-8")
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    assert not re.search(r"(:|tag:\s*)[\"']?latest\b|:-latest\b", code), f"{relative} uses `latest`"
    stages = set(re.findall(r"\bAS\s+(\w+)", code))
    for image in re.findall(r"(?:image:|FROM|--from=)\s*([^\s]+)", code):
        if "$" in image or "*" in image or image.startswith(("&", "{")) or image in stages:
            continue
        assert ":" in image.split("/")[-1], f"{relative}: image `{image}` has no explicit tag"


def test_one_image_tag_setting_everywhere():
    """IMAGE_TAG is the only tag setting: CI defines it, compose and the Helm deploy line use it."""
    ci = _yaml(".gitlab-ci.yml")
    assert ci["variables"]["IMAGE_TAG"] == "$CI_COMMIT_SHORT_SHA"
    assert any("$IMAGE:$IMAGE_TAG" in line for line in ci["build-image"]["script"])
    assert ci["validate-definitions"]["image"] == "$IMAGE:$IMAGE_TAG"
    compose = _yaml("docker-compose.yml")
    image = compose["x-dagster-image"]["image"]
    assert image.endswith(":${IMAGE_TAG:?set IMAGE_TAG to the image tag CI built (the git SHA)}"), image
    for name, service in compose["services"].items():
        if name != "postgres":
            assert service["image"] == image, name
    text = (PLATFORM / "docker-compose.yml").read_text(encoding="utf-8")
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    assert len(re.findall(r"\$\{?IMAGE_TAG", code)) == code.count("${IMAGE_TAG:?") == 1


def test_helm_images_are_the_one_anchored_image():
    """Every image of the Helm values is the same mapping, tagged by the one `__IMAGE_TAG__` placeholder."""
    text = (PLATFORM / "helm" / "values.yaml").read_text(encoding="utf-8")
    values = yaml.safe_load(text)
    image = values["x-cfwb-image"]
    assert image["tag"] == "__IMAGE_TAG__"
    images = [values[k]["image"] for k in ("dagsterWebserver", "dagsterDaemon", "pipelineRun")]
    images += [d["image"] for d in values["dagster-user-deployments"]["deployments"]]
    assert images and all(i == image for i in images)
    assert text.count("image: *cfwb-image") == len(images)
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    assert code.count("__IMAGE_TAG__") == 1 and "s/__IMAGE_TAG__/$IMAGE_TAG/" in text
    assert "global.imageTag" not in text  # the chart has no such setting (tag defaults to its version)
    deployed = yaml.safe_load(text.replace("__IMAGE_TAG__", "0a1b2c3d"))
    assert deployed["dagsterDaemon"]["image"]["tag"] == "0a1b2c3d"


def test_helm_code_locations_get_the_settings_and_secrets_of_compose():
    """Code servers and run pods read the same non-secret settings as env/prod.env, and the secrets."""
    values = _yaml("helm/values.yaml")
    prod = dict(
        line.split("=", 1)
        for line in (PLATFORM / "env" / "prod.env").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    for deployment in values["dagster-user-deployments"]["deployments"]:
        env = {e["name"]: e["value"] for e in deployment["env"]}
        for key in ("CFWB_PG_HOST", "CFWB_PG_USER", "CFWB_PG_DATABASE", "AZURE_STORAGE_ACCOUNT_NAME"):
            assert env[key] == prod[key], (deployment["name"], key)
        assert {"name": "cfwb-platform-secrets"} in deployment["envSecrets"]
    assert values["global"]["postgresqlSecretName"] == "cfwb-dagster-postgresql"
    assert values["generatePostgresqlPasswordSecret"] is False


def test_deployment_guide_lists_every_secret_of_the_deployment_files():
    """docs/deployment.md names every secret variable compose passes and the Helm Secrets."""
    guide = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    compose = _yaml("docker-compose.yml")
    secrets = [k for k in compose["x-dagster-image"]["environment"] if k != "ENVIRONMENT"]
    assert len(secrets) >= 6
    for key in [*secrets, "cfwb-dagster-postgresql", "postgresql-password", "cfwb-platform-secrets"]:
        assert f"`{key}`" in guide, key
    for key in ("IMAGE_TAG", "helm upgrade --install", "helm rollback", "dagster-user-deployments"):
        assert key in guide, key


def test_a_scaffolded_location_keeps_the_one_image_and_its_settings(tmp_path):
    """`cfwb new location` adds a Helm deployment that uses the anchored image, never `latest`."""
    import shutil

    from dagster_cfwb.cli.scaffold.new_location import _platform_edits

    for relative in (
        "workspace.yaml",
        "workspace.docker.yaml",
        "docker-compose.yml",
        "helm/values.yaml",
        ".gitlab-ci.yml",
    ):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PLATFORM / relative, tmp_path / relative)
    edits = _platform_edits(tmp_path, "sante")
    text = edits[tmp_path / "helm" / "values.yaml"]
    assert "tag: latest" not in text
    values = yaml.safe_load(text)
    added = values["dagster-user-deployments"]["deployments"][-1]
    assert added["name"] == "sante"
    assert added["image"] == values["x-cfwb-image"]
    assert added["env"] == values["x-cfwb-settings"]
