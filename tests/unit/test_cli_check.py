"""`cfwb check`: each classic defs.yaml mistake in a copy of a platform location gives one message.

The timings are printed (run with `-s` to see them), never asserted: the machine is shared.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from platform_copy import copy_platform

from dagster_cfwb.cli import main
from dagster_cfwb.cli.check import run_check
from dagster_cfwb.components import ComponentYamlError
from dagster_cfwb.deployment import location_definitions

CFWB = Path(sys.executable).parent / "cfwb"
IMPORT = "src/enseignement/defs/import_partage/defs.yaml"
RESOURCES = "src/enseignement/defs/ressources/defs.yaml"


@pytest.fixture(scope="module")
def platform(tmp_path_factory) -> Path:
    return copy_platform(tmp_path_factory.mktemp("check"))


@pytest.fixture
def location(platform, tmp_path) -> Path:
    """A fresh copy of the `enseignement` location for one test."""
    return Path(shutil.copytree(platform / "enseignement", tmp_path / "enseignement"))


def _edit(location: Path, relative: str, old: str, new: str) -> None:
    path = location / relative
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {relative}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _check(path: Path) -> tuple[int, list[str], str]:
    out = io.StringIO()
    started = time.perf_counter()
    code = run_check(path, out=out)
    print(f"\ncfwb check {path.name}: {time.perf_counter() - started:.2f} s (in process)")
    text = out.getvalue()
    assert "Traceback" not in text
    problems = [line for line in text.splitlines() if line.startswith("- ")]
    return code, problems, text


def test_clean_location_passes(location):
    code, problems, text = _check(location)
    assert (code, problems) == (0, []), text
    assert re.search(r"cfwb check: OK, 6 defs\.yaml files, 6 components checked \(\d+\.\d s\)", text)


def test_whole_platform_folder_passes(platform):
    code, problems, text = _check(platform)
    assert (code, problems) == (0, []), text


def test_misspelt_key_suggests_the_field(location):
    _edit(location, IMPORT, "      group: partenariats", "      gruop: partenariats")
    code, problems, text = _check(location)
    assert code == 1 and len(problems) == 1, text
    assert re.search(r"import_partage/defs\.yaml, line 14, field `imports\[0\]\.gruop`", problems[0])
    assert "unknown field `gruop`. Did you mean `group`?" in problems[0]
    assert "14 |       gruop: partenariats" in text


def test_wrong_value_lists_the_valid_options(location):
    _edit(location, IMPORT, "kind: file", "kind: fichier")
    code, problems, text = _check(location)
    assert code == 1 and len(problems) == 1, text
    assert "line 7, field `imports[0].source.kind`" in problems[0]
    assert "expected one of 'denodo', 'database', 'file', 'api'; found 'fichier'" in problems[0]
    assert "7 |         kind: fichier" in text


def test_missing_required_field_says_what_it_is(location):
    _edit(location, IMPORT, ", table: ecoles_partenaires}", "}")
    code, problems, text = _check(location)
    assert code == 1 and len(problems) == 1, text
    assert "line 11, field `imports[0].target.table`: required field `table` is missing" in problems[0]


def test_indentation_mistake_in_plain_words(location):
    _edit(location, IMPORT, "      target: {", "     target: {")
    code, problems, text = _check(location)
    assert code == 1 and len(problems) == 1, text
    assert (
        "import_partage/defs.yaml, line 11: `target:` is indented 1 space less than `source:` above it "
        "(line 6); keys of one block must line up"
    ) in problems[0]
    assert "11 |      target: {code_location" in text
    assert "\n         |      ^" in text  # the caret under the column


def test_unknown_component_type_suggests_ours(location):
    _edit(
        location, IMPORT, "type: dagster_cfwb.LakehouseImportComponent", "type: dagster_cfwb.LakehouseImport"
    )
    code, problems, text = _check(location)
    assert code == 1 and len(problems) == 1, text
    assert "line 2, field `type`: unknown component `dagster_cfwb.LakehouseImport`" in problems[0]
    assert "Did you mean `dagster_cfwb.LakehouseImportComponent`?" in problems[0]


def test_env_variable_missing_from_requirements(location):
    _edit(location, RESOURCES, "requirements:\n  env: [ENSEIGNEMENT_SHARE_ROOT]\n", "")
    code, problems, text = _check(location)
    assert code == 1 and len(problems) == 1, text
    assert (
        "field `resources.partage_enseignement.config.root`: uses `{{ env('ENSEIGNEMENT_SHARE_ROOT') }}`"
        in text
    )
    assert "env: [ENSEIGNEMENT_SHARE_ROOT]" in text


def test_every_document_of_a_multi_document_file_is_checked(location):
    first = (location / IMPORT).read_text(encoding="utf-8")
    second = first.replace("table: ecoles_partenaires}", "table: ecoles_partenaires_bis}").replace(
        "layer: stg", "layer: bronze"
    )
    (location / IMPORT).write_text(first + "---\n" + second, encoding="utf-8")
    code, problems, text = _check(location)
    assert code == 1 and len(problems) == 1, text
    assert re.search(
        r"line 31, field `imports\[0\]\.target\.layer`: expected one of .*found 'bronze'", problems[0]
    )


def test_two_files_of_one_type_are_both_checked(location):
    """`dg check yaml` 1.13 validates only the last file of each component type (a false green)."""
    _edit(location, IMPORT, "      group: partenariats", "      gruop: partenariats")
    _edit(
        location, "src/enseignement/defs/import_base_scolaire/defs.yaml", "group: classes", "groupe: classes"
    )
    code, problems, text = _check(location)
    assert code == 1 and len(problems) == 2, text
    assert {"import_base_scolaire", "import_partage"} == {
        re.search(r"defs/(\w+)/", p).group(1) for p in problems
    }


def test_one_path_given_as_a_file_or_defs_folder(location):
    _edit(location, IMPORT, "kind: file", "kind: fichier")
    assert _check(location / IMPORT)[0] == 1
    assert _check(location / "src/enseignement/defs/qualite")[0] == 0


def test_one_folder_knows_the_resource_keys_declared_in_another(location):
    # `partage_enseignement` is declared in defs/ressources/defs.yaml, not in the folder checked.
    code, problems, text = _check(location / "src/enseignement/defs/import_partage")
    assert (code, problems) == (0, []), text
    assert "OK, 1 defs.yaml file checked" in text
    _edit(location, IMPORT, "kind: file", "kind: fichier")
    _edit(location, RESOURCES, "kind: nfs", "kind: nfss")  # another file's problem is not shown here
    code, problems, _ = _check(location / IMPORT)
    assert code == 1 and len(problems) == 1 and "found 'fichier'" in problems[0]


def test_location_load_reports_yaml_syntax_without_pyyaml_traceback(location):
    """What `dg check defs --no-check-yaml` and `dagster dev` show: our message, raised before Dagster parses."""
    _edit(location, IMPORT, "      target: {", "     target: {")
    with pytest.raises(ComponentYamlError) as raised:
        location_definitions("enseignement", location / "src/enseignement")
    message = str(raised.value)
    assert "line 11: `target:` is indented 1 space less than `source:`" in message
    assert raised.value.__cause__ is None and raised.value.__context__ is None


def test_command_line_exit_codes_and_wall_time(location):
    code = main(["check", str(location)])
    assert code == 0
    _edit(location, IMPORT, "kind: file", "kind: fichier")
    started = time.perf_counter()
    done = subprocess.run(
        [str(CFWB), "check"], cwd=location, capture_output=True, text=True, timeout=120, env=os.environ
    )
    print(f"\n`cfwb check` as a command, whole process: {time.perf_counter() - started:.2f} s wall")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stdout.startswith("- src/enseignement/defs/import_partage/defs.yaml, line 7, field")


def test_unknown_resource_key_suggests_the_declared_one(location):
    _edit(location, IMPORT, "resource_key: partage_enseignement ", "resource_key: partage_enseignment ")
    code, problems, text = _check(location)
    assert code == 1 and len(problems) == 1, text
    assert (
        "line 8, field `imports[0].source.resource_key`: unknown resource key `partage_enseignment`. "
        "Did you mean `partage_enseignement`?"
    ) in problems[0]


def test_resource_keys_bound_in_python_are_known(location):
    definitions = location / "src/enseignement/definitions.py"
    text = definitions.read_text(encoding="utf-8")
    definitions.write_text(
        text.replace("Path(__file__).parent)", 'Path(__file__).parent, extra_resources={"partage_b": None})')
    )
    _edit(location, IMPORT, "resource_key: partage_enseignement ", "resource_key: partage_b ")
    assert _check(location)[0] == 0


def test_platform_resource_keys_match_what_locations_bind():
    from dagster_cfwb.components.defs_check import PLATFORM_RESOURCE_KEYS
    from dagster_cfwb.deployment import platform_resources

    assert sorted(platform_resources("test")) == sorted(PLATFORM_RESOURCE_KEYS)


def test_load_failure_is_explained_only_when_it_comes_from_a_defs_yaml(location):
    from dagster_cfwb.components.load_failure import explain_load_failure

    defs = location / "src/enseignement/defs"
    assert explain_load_failure(ValueError("bug in a Python asset"), defs) is None
    _edit(location, IMPORT, "      group: partenariats", "      gruop: partenariats")
    assert explain_load_failure(ValueError("bug in a Python asset"), defs) is None
    tree_error = RuntimeError(
        "Error while loading component\n│   └── defs.yaml (LakehouseImportComponent) (error)"
    )
    explained = explain_load_failure(tree_error, defs)
    assert isinstance(explained, ComponentYamlError) and len(explained.problems) == 1
    assert "Did you mean `group`?" in explained.problems[0]


@pytest.mark.parametrize(
    ("new", "message"),
    [
        (
            "\"{{ env('CFWB_TEST_SURELY_UNSET') }}\"",
            "line 12, field `resources.partage_enseignement.config.root`: the `{{ … }}` template cannot be "
            "rendered: Environment variable CFWB_TEST_SURELY_UNSET is not set",
        ),
        (
            "\"{{ env('X' context.project_root) }}\"",
            "line 12, field `resources.partage_enseignement.config.root`: the `{{ … }}` template cannot be "
            "rendered: TemplateSyntaxError: expected token ',', got 'context'",
        ),
    ],
    ids=["unset variable", "template syntax"],
)
def test_template_errors_are_located_without_traceback(location, new, message):
    path = location / RESOURCES
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[11] = "        root: " + new
    path.write_text("\n".join(lines[:12]) + "\n", encoding="utf-8")  # drop `requirements:`
    code, problems, text = _check(location)
    assert code == 1, text
    assert any(message in p for p in problems), text
    assert "Traceback" not in text and "Exception occurred" not in text


def test_list_written_without_dash(location):
    _edit(location, IMPORT, "    - source:", "      source:")
    code, problems, text = _check(location)
    assert code == 1 and len(problems) == 1, text
    assert "field `imports`: expected a list, each item starting with `- `" in problems[0]


def test_wrong_case_of_a_choice_suggests_the_right_one(location):
    _edit(location, IMPORT, "layer: stg", "layer: STG")
    code, problems, text = _check(location)
    assert code == 1 and "found 'STG'. Did you mean 'stg'?" in problems[0], text
