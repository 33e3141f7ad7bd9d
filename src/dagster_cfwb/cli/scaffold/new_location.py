"""`cfwb new location <name>`: a new code location, wired into every file of the platform.

It writes `platform/<name>/` from the templates next to this module (a `dg` project with an
example YAML import of a CSV of its share, with two checks, its schedule and a test), then adds
the location to `workspace.yaml` (local), `workspace.docker.yaml` (containers),
`docker-compose.yml` (its code server), `helm/values.yaml` (its user deployment) and
`.gitlab-ci.yml` (its definition check). Every edit is prepared and
checked first; nothing is written if one of them cannot be made.
"""

from __future__ import annotations

import importlib.util
import keyword
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

__all__ = ["ScaffoldedLocation", "scaffold_location", "validate_location_name"]

TEMPLATES = Path(__file__).parent / "templates" / "location"
_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_CI_MARKER = "# cfwb:locations"
_COMPOSE_MARKER = "  # cfwb:new-location-services-above"
_HELM_MARKER = "    # cfwb:new-location-deployments-above"


@dataclass
class ScaffoldedLocation:
    """What `scaffold_location` created and changed."""

    name: str
    folder: Path
    created: list[Path] = field(default_factory=list)
    updated: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"Created code location `{self.name}` in {self.folder}:"]
        lines += [f"  + {p.relative_to(self.folder.parent)}" for p in self.created]
        lines += [f"  ~ {p.name}" for p in self.updated]
        from dagster_cfwb.cli.demo import ui_command

        example = f"src/{self.name}/defs/exemple_communes"
        bin_dir = Path(sys.prefix) / "bin"  # the commands of this install: no venv to activate
        cfwb = bin_dir / "cfwb" if (bin_dir / "cfwb").exists() else "cfwb"
        dg = bin_dir / "dg" if (bin_dir / "dg").exists() else "dg"
        steps = [
            (f"{cfwb} run --preview {example}", "the first rows of the example import"),
            (f"{cfwb} run {example}", "run it (demo lakehouse and PostgreSQL)"),
            (f"{cfwb} check", "every defs.yaml, in seconds"),
            (f"{dg} check defs", "what CI runs"),
            # this install's python: plain `pytest` is found only once `.venv` is activated
            (f"{sys.executable} -m pytest {self.folder / 'tests'}", "the location's test"),
        ]
        width = max(len(command) for command, _ in steps)
        lines += ["Next steps:", f"  cd {self.folder}"]
        lines += [f"  {command.ljust(width)}  # {why}" for command, why in steps]
        lines += [
            "Open the Dagster UI (run `cfwb demo` once first to start the demo's PostgreSQL):",
            f"  {ui_command(self.folder.parent)}",
        ]
        return "\n".join(lines)


def validate_location_name(name: str, platform_dir: Path) -> None:
    """Refuse names that are not lower-case identifiers, are taken, or shadow a Python module.

    Raises:
        ValueError: naming the problem and what is expected.
    """
    if not _NAME.match(name) or keyword.iskeyword(name):
        raise ValueError(
            f"Location name `{name}` is not valid: expected 2-40 lower-case letters, digits or `_`, "
            "starting with a letter (e.g. `sante`, `mobilite_urbaine`)."
        )
    if (platform_dir / name).exists():
        raise ValueError(f"Location `{name}` already exists: `{platform_dir / name}` is there.")
    workspace = (platform_dir / "workspace.yaml").read_text(encoding="utf-8")
    if re.search(rf"location_name:\s*{re.escape(name)}\s*$", workspace, flags=re.M):
        raise ValueError(f"Location `{name}` is already listed in `{platform_dir / 'workspace.yaml'}`.")
    if importlib.util.find_spec(name) is not None:
        raise ValueError(
            f"Location name `{name}` is already the name of an installed Python module; pick another "
            f"(e.g. `{name}_data`), or its imports would clash."
        )


def _render(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def _insert_before(text: str, marker: str, block: str, file: Path) -> str:
    if marker not in text:
        raise ValueError(
            f"`{file}` has no line `{marker.strip()}`: add it where new locations go, then retry."
        )
    return text.replace(marker, block + marker, 1)


def _ci_with_location(text: str, name: str, file: Path) -> str:
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if _CI_MARKER in line:
            match = re.search(r"\[(.*)\]", line)
            if match is None:
                raise ValueError(
                    f"`{file}` line {i + 1}: expected `LOCATION: [a, b] {_CI_MARKER}`, got {line!r}."
                )
            names = [n.strip() for n in match.group(1).split(",") if n.strip()]
            lines[i] = line[: match.start()] + "[" + ", ".join([*names, name]) + "]" + line[match.end() :]
            return "".join(lines)
    raise ValueError(
        f"`{file}` has no line ending with `{_CI_MARKER}` (the LOCATION list of validate-definitions)."
    )


def _platform_edits(platform_dir: Path, name: str) -> dict[Path, str]:
    """New contents of the platform files that list the locations, checked to still parse."""
    service = "location-" + name.replace("_", "-")
    src = f"/opt/dagster/app/platform/{name}/src"
    edits: dict[Path, str] = {}

    workspace = platform_dir / "workspace.yaml"
    edits[workspace] = workspace.read_text(encoding="utf-8").rstrip("\n") + (
        f"\n  - python_module:\n      location_name: {name}\n      module_name: {name}.definitions\n"
        f"      working_directory: {name}/src\n"
    )
    docker_workspace = platform_dir / "workspace.docker.yaml"
    if docker_workspace.exists():
        edits[docker_workspace] = docker_workspace.read_text(encoding="utf-8").rstrip("\n") + (
            f"\n  - grpc_server:\n      location_name: {name}\n      host: {service}\n      port: 4000\n"
        )
    compose = platform_dir / "docker-compose.yml"
    if compose.exists():
        block = (
            f"  {service}:\n    <<: *code-location\n"
            f'    command: ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "--location-name", "{name}",\n'
            f'              "-m", "{name}.definitions", "-d", "{src}"]\n\n'
        )
        edits[compose] = _insert_before(compose.read_text(encoding="utf-8"), _COMPOSE_MARKER, block, compose)
    helm = platform_dir / "helm" / "values.yaml"
    if helm.exists():
        block = (
            f"    - name: {name.replace('_', '-')}\n      image: *cfwb-image\n"
            f'      dagsterApiGrpcArgs: ["-m", "{name}.definitions", "-d", "{src}"]\n'
            "      port: 4000\n      env: *cfwb-settings\n"
            "      envSecrets:\n        - name: cfwb-platform-secrets\n"
        )
        edits[helm] = _insert_before(helm.read_text(encoding="utf-8"), _HELM_MARKER, block, helm)
    ci = platform_dir / ".gitlab-ci.yml"
    if ci.exists():
        edits[ci] = _ci_with_location(ci.read_text(encoding="utf-8"), name, ci)
    for file, text in edits.items():
        try:
            yaml.safe_load(text)
        except yaml.YAMLError as e:  # pragma: no cover - would be a bug in the blocks above
            raise ValueError(f"Adding `{name}` would break `{file}`: {e}") from e
    return edits


def scaffold_location(platform_dir: Path, name: str, *, description: str | None = None) -> ScaffoldedLocation:
    """Create code location `name` under `platform_dir` and wire it into the platform files.

    Args:
        platform_dir: the platform folder (holding `workspace.yaml`).
        name: the location's name and Python package, e.g. `"sante"`.
        description: one line describing the location (default: "Code location <name>.").

    Returns:
        The files created and updated.

    Example:
        >>> import shutil, tempfile, pathlib  # doctest: +SKIP
        >>> scaffold_location(pathlib.Path("platform"), "sante").folder  # doctest: +SKIP
        PosixPath('platform/sante')
    """
    platform_dir = Path(platform_dir).resolve()
    validate_location_name(name, platform_dir)
    values = {
        "name": name,
        "dist_name": name.replace("_", "-"),
        "description": description or f"Code location {name}.",
        "NAME": name.upper(),
    }
    edits = _platform_edits(platform_dir, name)
    folder = platform_dir / name
    result = ScaffoldedLocation(name=name, folder=folder)
    for template in sorted(p for p in TEMPLATES.rglob("*") if p.is_file()):
        relative = template.relative_to(TEMPLATES).as_posix().replace("__name__", name)
        if relative.endswith(".tmpl"):
            relative = relative.removesuffix(".tmpl")
            content = _render(template.read_text(encoding="utf-8"), values)
        else:
            content = template.read_text(encoding="utf-8")
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
        result.created.append(target)
    for file, text in edits.items():
        file.write_text(text, encoding="utf-8")
        result.updated.append(file)
    return result
