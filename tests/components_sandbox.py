"""Load YAML component instances from a throw-away defs folder, and run them (helpers for component tests)."""

from __future__ import annotations

import textwrap
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import dagster as dg
from dagster.components.testing import create_defs_folder_sandbox


@contextmanager
def yaml_defs(files: Mapping[str, str]) -> Iterator[dg.Definitions]:
    """Write ``{"folder/defs.yaml": text}`` into a fresh defs folder and yield its Definitions."""
    with create_defs_folder_sandbox() as sandbox:
        for relative, text in files.items():
            path = sandbox.defs_folder_path / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        with sandbox.build_all_defs() as defs:
            yield defs


def load_error(files: Mapping[str, str]) -> str:
    """The text a user sees when the defs folder fails to load (the whole exception chain)."""
    try:
        with yaml_defs(files):
            pass
    except Exception as e:
        return "".join(traceback.format_exception(e))
    raise AssertionError("the defs folder loaded without error")


def run_assets(
    defs: dg.Definitions,
    resources: Mapping[str, object],
    *,
    instance: dg.DagsterInstance | None = None,
    selection: dg.AssetSelection | None = None,
    partition_key: str | None = None,
    raise_on_error: bool = False,
) -> dg.ExecuteInProcessResult:
    """Materialise ``defs``' assets (and their checks) with ``resources`` in one in-process run."""
    full = dg.Definitions.merge(defs, dg.Definitions(resources=dict(resources)))
    job = dg.define_asset_job("test_job", selection=selection or dg.AssetSelection.all())
    full = dg.Definitions.merge(full, dg.Definitions(jobs=[job]))
    return full.resolve_job_def("test_job").execute_in_process(
        instance=instance or dg.DagsterInstance.ephemeral(),
        partition_key=partition_key,
        raise_on_error=raise_on_error,
    )
