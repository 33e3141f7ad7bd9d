"""`cfwb demo` report wiring, with the platform loading and PostgreSQL set-up stubbed out (no location loaded)."""

import io

import dagster as dg

from dagster_cfwb.cli import demo


def test_demo_report_says_how_to_stop_the_embedded_postgres(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "find_platform_dir", lambda _: tmp_path)
    monkeypatch.setattr(
        demo, "prepare_demo_environment", lambda platform, out: ({"DAGSTER_HOME": str(tmp_path)}, True)
    )
    monkeypatch.setattr(demo, "parse_dbt_projects", lambda *a, **k: [])
    monkeypatch.setattr(demo, "read_workspace", lambda _: [])
    monkeypatch.setattr(dg.DagsterInstance, "get", staticmethod(dg.DagsterInstance.ephemeral))
    out = io.StringIO()
    report = demo.run_demo(tmp_path, out=out)
    assert report.embedded_postgres is True
    assert "cfwb postgres stop" in out.getvalue()
