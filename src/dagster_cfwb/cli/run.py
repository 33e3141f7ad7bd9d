"""`cfwb run`: materialise one import or export (and its checks) from a location folder.

```bash
cd platform/enseignement
cfwb run enseignement/stg/ecoles_partenaires        # an asset key
cfwb run src/enseignement/defs/import_partage       # every asset of a defs folder
cfwb run src/enseignement/defs/import_partage --preview   # first rows, nothing written
cfwb run src/enseignement/defs/etablissements.py    # the assets of a Python module
```

It runs on the same lakehouse and PostgreSQL as `cfwb demo` when nothing else is configured
(`<platform>/.dagster_home/lakehouse`, the embedded PostgreSQL or `CFWB_PG_*`), records the run
in `<platform>/.dagster_home` (so `dagster dev` shows it), and prints the rows written, the checks
passed and failed, and where the data is. Nothing has to be activated or put on `PYTHONPATH`: the
location's `src` folder is put on `sys.path` as `workspace.yaml` asks.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dagster_cfwb.platform_layout import CodeLocation, find_platform_dir, read_workspace

__all__ = ["RunReport", "component_tree", "run_target"]

# Dagster's console logger would print the step failure's stack trace: it is silenced, and the
# warnings and the failure are printed by this command in plain words.
_SILENT = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass
class AssetOutcome:
    """One materialised asset: its rows and where the data is."""

    key: str
    rows: int | None
    where: str | None


@dataclass
class RunReport:
    """What `cfwb run` did."""

    materialised: list[AssetOutcome] = field(default_factory=list)
    checks_passed: list[str] = field(default_factory=list)
    checks_failed: list[str] = field(default_factory=list)
    blocking_failures: int = 0  # failed checks of severity `error` (a `warn` check only reports)
    checks_not_run: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return not self.errors and not self.blocking_failures


def _locate(platform: Path, target: str, cwd: Path) -> tuple[CodeLocation, Path | None]:
    """The code location of `target` and, when it is a defs folder or file, its absolute path."""
    locations = read_workspace(platform)
    path = (cwd / target).resolve()
    if path.exists():
        for location in locations:
            if path.is_relative_to(location.project_dir):
                return location, path
        raise FileNotFoundError(
            f"`{path}` is not inside a code location of `{platform / 'workspace.yaml'}` "
            f"({', '.join(f'`{loc.project_dir}`' for loc in locations)})."
        )
    if target.endswith((".yaml", ".yml", ".py")) or target.startswith(("src/", "./", "../", "/")):
        raise FileNotFoundError(f"No such file or folder `{target}` (from `{cwd}`).")
    for location in locations:
        if cwd.is_relative_to(location.project_dir):
            return location, None
    first = target.split("/")[0]
    for location in locations:
        if location.name == first:
            return location, None
    names = ", ".join(f"`{loc.name}`" for loc in locations)
    raise FileNotFoundError(
        f"`{target}` is neither a file or folder here nor an asset key of a code location ({names}); "
        "run `cfwb run` from a location folder, e.g. `cd platform/enseignement`."
    )


def component_tree(location: CodeLocation, defs):
    """The component tree the location's definitions were built from (built again if not kept)."""
    tree = getattr(defs, "component_tree", None)
    if tree is None:
        from dagster.components.core.component_tree import ComponentTree

        tree = ComponentTree.for_project(location.project_dir)
    return tree


def _keys_of_path(location: CodeLocation, path: Path, location_defs) -> list[Any]:
    """Asset keys defined by a defs folder, its `defs.yaml` or a Python module of `defs/`."""
    folder = path.parent if path.suffix in (".yaml", ".yml") else path
    defs = component_tree(location, location_defs).build_defs_at_path(folder)
    keys = [
        key for asset in defs.assets or [] for key in getattr(asset, "keys", [getattr(asset, "key", None)])
    ]
    if not keys:
        raise ValueError(f"`{path}` defines no asset: give a defs folder with an import or an export.")
    return keys


def _all_keys(defs) -> dict[str, Any]:
    return {key.to_user_string(): key for asset in defs.assets or [] for key in asset.keys}


def _resolve_keys(target: str, location: CodeLocation, path: Path | None, defs) -> list[Any]:
    import difflib

    known = _all_keys(defs)
    if path is not None:
        return _keys_of_path(location, path, defs)
    if target in known:
        return [known[target]]
    with_location = f"{location.name}/{target}"
    if with_location in known:
        return [known[with_location]]
    close = difflib.get_close_matches(target, list(known), n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(f'`{c}`' for c in close)}?" if close else ""
    raise ValueError(
        f"No asset `{target}` in code location `{location.name}`.{hint} "
        f"Its assets: {', '.join(f'`{k}`' for k in sorted(known))}."
    )


def _innermost_message(error) -> str:
    """The user-facing message of a Dagster step failure: the first error that is not Dagster's
    wrapper ("Error occurred while executing op …"), without its stack or its class name."""
    while (getattr(error, "cls_name", "") or "").startswith("Dagster") and error.cause is not None:
        error = error.cause
    text = (getattr(error, "message", None) or str(error)).strip()
    cls_name = getattr(error, "cls_name", None)
    if cls_name and text.startswith(f"{cls_name}: "):
        text = text[len(cls_name) + 2 :]
    return text


def _where(metadata: dict[str, Any]) -> str | None:
    def value(name: str):
        item = metadata.get(name)
        return getattr(item, "value", getattr(item, "path", item))

    if metadata.get("lakehouse_path") is not None:
        return str(value("lakehouse_path"))
    if metadata.get("database_resource") is not None:
        return f"database table `{value('dagster/table_name')}` (resource `{value('database_resource')}`)"
    return None


def _collect(
    result, instance, report: RunReport, planned_checks: list[str], step_assets: dict[str, str]
) -> None:
    for event in result.get_asset_materialization_events():
        mat = event.step_materialization_data.materialization
        rows = mat.metadata.get("dagster/row_count")
        report.materialised.append(
            AssetOutcome(mat.asset_key.to_user_string(), getattr(rows, "value", rows), _where(mat.metadata))
        )
    evaluated = set()
    for evaluation in result.get_asset_check_evaluations():
        name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
        evaluated.add(name)
        if evaluation.passed:
            report.checks_passed.append(name)
        else:
            summary = evaluation.description or ""
            severity = getattr(evaluation.severity, "value", evaluation.severity)
            report.checks_failed.append(f"{name} ({str(severity).lower()}) {summary}".strip())
            report.blocking_failures += str(severity).upper() != "WARN"
    report.checks_not_run.extend(c for c in planned_checks if c not in evaluated)
    for event in result.all_events:
        if event.is_step_failure:
            what = step_assets.get(event.step_key, event.step_key)
            report.errors.append(f"{what}: {_innermost_message(event.step_failure_data.error)}")
    for entry in instance.all_logs(result.run_id):
        engine = (entry.user_message or "").startswith("Dependencies for step")  # said as "not run" below
        if entry.dagster_event is None and entry.level >= 30 and entry.user_message and not engine:
            report.warnings.append(entry.user_message)


def run_target(
    targets: str | list[str],
    *,
    preview: bool = False,
    partition: str | None = None,
    platform_dir: str | Path | None = None,
    cwd: str | Path | None = None,
    out=None,
) -> RunReport:
    """Materialise `targets` (asset keys, defs folders or `defs.yaml`) in one run and report.

    Args:
        targets: e.g. `enseignement/stg/classes`, `src/enseignement/defs/import_partage` (or its
            `defs.yaml`) or `src/enseignement/defs/etablissements.py`; several (of one code
            location) run together, upstream first (an import and its export).
        preview: print the first rows each import would read, write nothing.
        partition: the partition to run for a partitioned asset (default: the last one).
        platform_dir: the platform folder (default: found from `cwd`).
        cwd: where relative paths are resolved (default: the current directory).
        out: where to print (default: standard output).

    Raises:
        FileNotFoundError, ValueError: a target cannot be found (the message says what exists).
    """
    out = out or sys.stdout
    targets = [targets] if isinstance(targets, str) else list(targets)
    cwd = Path(cwd or Path.cwd()).resolve()
    platform = find_platform_dir(platform_dir) if platform_dir else _platform_from(cwd)
    located = [(target, *_locate(platform, target, cwd)) for target in targets]
    location = located[0][1]
    others = sorted({loc.name for _, loc, _ in located} - {location.name})
    if others:
        raise ValueError(
            f"`cfwb run` runs assets of one code location at a time; got `{location.name}` and "
            f"{', '.join(f'`{o}`' for o in others)}."
        )

    from dagster_cfwb.cli.demo import prepare_demo_environment, prepare_demo_postgres

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Dagster's beta/preview warnings mean nothing to an analyst
        # A preview writes nothing: PostgreSQL is set up (the embedded one started, ~8–10 s) only
        # when an import to preview reads it.
        prepare_demo_environment(platform, out, postgres=not preview)
        from dagster_cfwb.platform_layout import load_location_definitions

        defs = load_location_definitions(location)
        keys = list(
            dict.fromkeys(
                k for target, _, path in located for k in _resolve_keys(target, location, path, defs)
            )
        )
        if preview:
            from dagster_cfwb.cli.run_preview import imports_reading_postgres, preview_imports

            if imports_reading_postgres(component_tree(location, defs), keys, defs.resources or {}):
                prepare_demo_postgres(platform, out)
                defs = load_location_definitions(location)  # its resources read `CFWB_PG_*` when built
            preview_imports(component_tree(location, defs), keys, defs, out)
            return RunReport()
        report = _materialise(defs, keys, partition, out)
    _print_report(report, out)
    return report


def _platform_from(cwd: Path) -> Path:
    for folder in (cwd, *cwd.parents):
        if (folder / "workspace.yaml").is_file():
            return folder
    return find_platform_dir(None)


def _materialise(defs, keys: list[Any], partition: str | None, out) -> RunReport:
    import dagster as dg

    assets = list(defs.assets or [])
    checks = list(defs.asset_checks or [])
    selected = [a for a in assets if set(a.keys) & set(keys)]
    partitioned = {a.partitions_def for a in selected if a.partitions_def is not None}
    if len(partitioned) > 1:
        raise ValueError("The assets chosen have different partitions; run them one at a time.")
    partition_key = None
    if partitioned:
        partitions_def = next(iter(partitioned))
        partition_key = partition or partitions_def.get_last_partition_key()
    elif partition:
        raise ValueError(f"`--partition {partition}`: none of the chosen assets is partitioned.")
    names = ", ".join(k.to_user_string() for k in keys)
    print(f"Running {names}{f' (partition {partition_key})' if partition_key else ''} …", file=out)
    instance = dg.DagsterInstance.get()
    result = dg.materialize(
        [*assets, *checks],
        selection=dg.AssetSelection.assets(*keys),
        resources=defs.resources or {},
        instance=instance,
        run_config=_SILENT,
        partition_key=partition_key,
        raise_on_error=False,
    )
    report = RunReport()
    step_assets = {
        a.node_def.name: ", ".join(k.to_user_string() for k in a.keys)
        for a in assets
        if getattr(a, "node_def", None) is not None
    }
    from dagster_cfwb.cli.demo import planned_checks

    _collect(result, instance, report, planned_checks(instance, result.run_id), step_assets)
    return report


def _print_report(report: RunReport, out) -> None:
    for warning in dict.fromkeys(report.warnings):
        print(f"warning: {warning}", file=out)
    for asset in report.materialised:
        rows = "?" if asset.rows is None else f"{asset.rows:,}"
        print(f"{asset.key}: {rows} rows written", file=out)
        if asset.where:
            print(f"  data: {asset.where}", file=out)
    for error in report.errors:
        print(f"FAILED {error}", file=out)
    print(
        f"Checks: {len(report.checks_passed)} passed, {len(report.checks_failed)} failed"
        + (f", {len(report.checks_not_run)} not run (upstream failed)" if report.checks_not_run else "")
        + ".",
        file=out,
    )
    for name in report.checks_passed:
        print(f"  passed: {name}", file=out)
    for name in report.checks_failed:
        print(f"  FAILED: {name}", file=out)
    for name in report.checks_not_run:
        print(f"  not run: {name} (its asset failed)", file=out)
