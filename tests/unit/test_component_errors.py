"""Broken defs.yaml files give errors that name file, line, field, expected vs found and the options."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import dagster as dg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from components_sandbox import load_error, yaml_defs

from dagster_cfwb.components import ComponentYamlError, check_resource_keys

IMPORT_OK = """
type: dagster_cfwb.LakehouseImportComponent
attributes:
  imports:
    - source:
        kind: database
        resource_key: postgresql
        table: public.eleves
      target: {code_location: enseignement, layer: stg, table: eleves}
"""


def _problem_line(text: str, field: str) -> str:
    line = next((ln for ln in text.splitlines() if f"field `{field}`" in ln), None)
    assert line is not None, f"no problem reported for `{field}` in:\n{text}"
    return line


def test_typo_in_field_names_file_line_and_suggests():
    text = load_error(
        {"imports/defs.yaml": IMPORT_OK.replace("        table: public", "        tabel: public")}
    )
    line = _problem_line(text, "imports[0].source.tabel")
    assert re.search(r"defs/imports/defs\.yaml, line 7", line)
    assert "unknown field `tabel`" in line and "Did you mean `table`?" in line
    assert "Valid fields here: `kind`, `resource_key`, `table`" in line
    assert "7 |         tabel: public.eleves" in text  # the line itself is shown


def test_typo_of_a_required_field_is_one_problem_not_two():
    """`tabel:` for `table:` is an unknown field; "required field `table` is missing" would repeat it."""
    text = load_error({"imports/defs.yaml": IMPORT_OK.replace("stg, table: eleves", "stg, tabel: eleves")})
    line = _problem_line(text, "imports[0].target.tabel")
    assert "unknown field `tabel`. Did you mean `table`?" in line
    assert "required field `table` is missing" not in text
    assert "(1 problem)" in text


def test_missing_required_field_says_what_it_is():
    text = load_error({"imports/defs.yaml": IMPORT_OK.replace(", table: eleves}", "}")})
    line = _problem_line(text, "imports[0].target.table")
    assert "line 8" in line
    assert "required field `table` is missing: Table name in the lakehouse" in line


def test_wrong_source_kind_lists_valid_kinds():
    text = load_error({"imports/defs.yaml": IMPORT_OK.replace("kind: database", "kind: databse")})
    line = _problem_line(text, "imports[0].source.kind")
    assert "line 5" in line
    assert (
        "expected one of 'denodo', 'database', 'file', 'api'; found 'databse'. Did you mean 'database'?"
        in line
    )


@pytest.mark.parametrize(
    ("written", "meant"),
    [("fichier", "file"), ("bdd", "database"), ("csv", "file"), ("files", "file"), ("datab", "database")],
)
def test_wrong_source_kind_in_french_or_cut_short_gets_a_suggestion(written, meant):
    """`fichier` is only 0.55 similar to `file` (difflib's cutoff is 0.6): synonyms and stems help."""
    text = load_error({"imports/defs.yaml": IMPORT_OK.replace("kind: database", f"kind: {written}")})
    line = _problem_line(text, "imports[0].source.kind")
    assert f"found '{written}'. Did you mean '{meant}'?" in line


def test_medallion_layer_names_suggest_the_short_layer():
    text = load_error({"imports/defs.yaml": IMPORT_OK.replace("layer: stg", "layer: silver")})
    assert "found 'silver'. Did you mean 'slv'?" in _problem_line(text, "imports[0].target.layer")


def test_identifier_failing_validation_is_refused_before_anything_runs():
    text = load_error(
        {"imports/defs.yaml": IMPORT_OK.replace("public.eleves", "'public.eleves; DROP TABLE x'")}
    )
    line = _problem_line(text, "imports[0].source.table")
    assert "line 7" in line
    assert "'eleves; DROP TABLE x' is not allowed: use letters, digits and `_` only" in line


def test_fields_of_another_source_kind_are_named():
    broken = IMPORT_OK.replace("table: public.eleves", "path: exports/eleves.csv")
    text = load_error({"imports/defs.yaml": broken})
    line = _problem_line(text, "imports[0].source")
    assert (
        "`path` does not apply to a `database` source; a `database` source takes `table` or `query`" in line
    )


def test_file_source_without_path_names_the_one_field_it_needs():
    broken = IMPORT_OK.replace("kind: database", "kind: file").replace("        table: public.eleves\n", "")
    line = _problem_line(load_error({"imports/defs.yaml": broken}), "imports[0].source")
    assert (
        "a `file` source needs `path` (file path or glob on the share, e.g. `exports/eleves_*.csv`); found none"
        in line
    )
    assert "exactly one of" not in line


def test_check_with_missing_parameter_and_bad_severity():
    broken = (
        IMPORT_OK
        + """      checks:
        - {type: accepted_values, column: statut}
        - {type: not_null, columns: [id], severity: fatal}
"""
    )
    text = load_error({"imports/defs.yaml": broken})
    assert "a `accepted_values` check needs `values`" in _problem_line(text, "imports[0].checks[0]")
    line = _problem_line(text, "imports[0].checks[1].severity")
    assert "line 11" in line and "expected one of 'warn', 'error'; found 'fatal'" in line


def test_check_on_an_accented_column_gets_a_dagster_safe_name():
    """Dagster names allow ASCII only: `not_null_id_bénéficiaire` was refused with a raw traceback."""
    checks = "      checks:\n        - {type: not_null, columns: [id, bénéficiaire]}\n"
    with yaml_defs({"imports/defs.yaml": IMPORT_OK + checks}) as defs:
        names = [key.name for checks_def in defs.asset_checks or [] for key in checks_def.check_keys]
    assert names == ["not_null_id_beneficiaire"]


def test_check_name_with_an_accent_is_refused_with_the_ascii_spelling():
    checks = "      checks:\n        - {type: not_null, columns: [id], name: vérif_id}\n"
    line = _problem_line(load_error({"imports/defs.yaml": IMPORT_OK + checks}), "imports[0].checks[0].name")
    assert "line 10" in line
    assert "`vérif_id`" in line and "e.g. `verif_id`" in line


def test_incremental_without_watermark():
    text = load_error({"imports/defs.yaml": IMPORT_OK + "      mode: incremental\n"})
    assert "`mode: incremental` needs `watermark_column`" in _problem_line(text, "imports[0]")


def test_several_problems_are_all_reported_in_one_message():
    broken = IMPORT_OK.replace("kind: database", "kind: api").replace("layer: stg", "layer: bronze")
    text = load_error({"imports/defs.yaml": broken})
    assert "(2 problems)" in text
    assert "found 'bronze'" in text


def test_unknown_resource_key_names_file_line_and_existing_keys():
    with yaml_defs(
        {"imports/defs.yaml": IMPORT_OK.replace("resource_key: postgresql", "resource_key: postgre")}
    ) as defs:
        full = dg.Definitions.merge(
            defs, dg.Definitions(resources={"postgresql": object(), "lakehouse": object()})
        )
        with pytest.raises(ComponentYamlError) as raised:
            check_resource_keys(full)
    message = str(raised.value)
    assert re.search(
        r"defs/imports/defs\.yaml, line 6, field `resource_key`: unknown resource key `postgre`", message
    )
    assert "Did you mean `postgresql`?" in message
    assert "Resources of this code location: `lakehouse`, `postgresql`" in message


def test_resource_keys_all_present_passes():
    with yaml_defs({"imports/defs.yaml": IMPORT_OK}) as defs:
        full = dg.Definitions.merge(
            defs, dg.Definitions(resources={"postgresql": object(), "lakehouse": object()})
        )
        assert check_resource_keys(full) is full


def test_resources_component_reports_unknown_setting_with_suggestion(monkeypatch):
    text = load_error(
        {
            "resources/defs.yaml": """
            type: dagster_cfwb.ResourcesComponent
            attributes:
              resources:
                ecoles_db:
                  kind: postgresql
                  config: {host: db.example, prot: 5433}
            """
        }
    )
    line = _problem_line(text, "resources.ecoles_db")
    assert "`config.prot` is not a setting of a `postgresql` resource. Did you mean `port`?" in line
    assert "line 4" in line


def test_secret_values_never_appear_in_errors(monkeypatch):
    monkeypatch.setenv("CFWB_TEST_SMTP_PASSWORD", "hunter2-very-secret")
    text = load_error(
        {
            "notify/defs.yaml": """
            type: dagster_cfwb.NotificationsComponent
            attributes:
              email:
                host: smtp.example.org
                sender: dagster@example.org
                to: [nobody]
                password: "{{ env('CFWB_TEST_SMTP_PASSWORD') }}"
            """
        }
    )
    assert "hunter2-very-secret" not in text
    assert "`to` needs e-mail addresses; found ['nobody']" in text


def test_env_template_really_resolves_into_the_component(monkeypatch):
    """dagster#33677: env() in nested resource fields is not rendered; our own models are."""
    monkeypatch.setenv("CFWB_TEST_TEAMS_URL", "https://teams.example/webhook/abc")
    monkeypatch.setenv("CFWB_TEST_NTFY_TOKEN", "tk_123456")
    files = {
        "notify/defs.yaml": """
        type: dagster_cfwb.NotificationsComponent
        attributes:
          name: alerts
          teams: {webhook_url: "{{ env('CFWB_TEST_TEAMS_URL') }}"}
          ntfy: {topic: alerts, token: "{{ env('CFWB_TEST_NTFY_TOKEN') }}"}
        requirements:
          env: [CFWB_TEST_TEAMS_URL, CFWB_TEST_NTFY_TOKEN]
        """
    }
    from dagster.components.testing import create_defs_folder_sandbox

    with create_defs_folder_sandbox() as sandbox:
        folder = sandbox.defs_folder_path / "notify"
        folder.mkdir()
        import textwrap

        (folder / "defs.yaml").write_text(textwrap.dedent(files["notify/defs.yaml"]).lstrip())
        with sandbox.build_component_tree() as tree:
            component = tree.load_component(folder)
    assert component.teams.webhook_url == "https://teams.example/webhook/abc"
    assert component.ntfy.token == "tk_123456"
    assert "abc" not in repr(component.teams) and "tk_123456" not in repr(component.ntfy)


def test_python_construction_gets_the_same_validation():
    from dagster_cfwb.components import LakehouseImportComponent

    with pytest.raises(ComponentYamlError, match=r"field `imports\[0\].target.layer`: expected one of"):
        LakehouseImportComponent.from_dict(
            {
                "imports": [
                    {
                        "source": {"kind": "database", "resource_key": "pg", "table": "t"},
                        "target": {"code_location": "x", "layer": "gold", "table": "t"},
                    }
                ]
            }
        )


def test_row_count_change_check_refused_on_a_partitioned_table():
    """The check counts every partition but the last run counted one: the % change would be meaningless."""
    partitioned = (
        IMPORT_OK
        + """      partitions: {frequency: daily, start_date: '2024-01-01', column: updated_at}
      checks:
        - {type: row_count, max_change_percent: 20}
"""
    )
    text = load_error({"imports/defs.yaml": partitioned})
    assert "cannot be used on a partitioned table" in _problem_line(text, "imports[0]")
    checks_yaml = """
type: dagster_cfwb.DataQualityChecksComponent
attributes:
  tables:
    - table: {code_location: enseignement, layer: stg, table: eleves}
      partitioned: true
      checks:
        - {type: row_count, min_rows: 1, max_change_percent: 20}
"""
    text = load_error({"checks/defs.yaml": checks_yaml})
    assert "cannot be used on a partitioned table" in _problem_line(text, "tables[0]")


def test_resource_password_in_config_is_refused_with_the_fix(monkeypatch):
    """The UI shows a resource's plain `config` values; a secret must come through `secrets_from_env`."""
    monkeypatch.setenv("CFWB_TEST_DB_PASSWORD", "hunter2-in-config")
    text = load_error(
        {
            "resources/defs.yaml": """
            type: dagster_cfwb.ResourcesComponent
            attributes:
              resources:
                ecoles_db:
                  kind: postgresql
                  config: {host: db.example, password: "{{ env('CFWB_TEST_DB_PASSWORD') }}"}
            """
        }
    )
    line = _problem_line(text, "resources.ecoles_db")
    assert "`config.password` is a secret" in line and "`secrets_from_env: {password: <VARIABLE>}`" in line
    assert "hunter2-in-config" not in text


def test_check_on_a_column_written_with_its_accent_says_the_lakehouse_name():
    """Files are imported with snake_case names: the check's `bénéficiaire` is `beneficiaire` there."""
    import duckdb

    from dagster_cfwb.checks.check_specs import run_declared_check
    from dagster_cfwb.components.check_model import Check

    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT 1 AS id, 'x' AS beneficiaire")
    check = Check(type="not_null", columns=["id", "bénéficiaire"])
    outcome = run_declared_check(con, "t", check)
    assert not outcome.passed
    assert outcome.summary == (
        "column `bénéficiaire` is not in the table. Did you mean `beneficiaire`? (file columns are imported "
        "in snake_case by default) Columns: `id`, `beneficiaire`."
    )
