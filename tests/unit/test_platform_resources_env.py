"""The platform's PostgreSQL resource from CFWB_PG_* variables: a bad value names the variable."""

from __future__ import annotations

import pytest

from dagster_cfwb.deployment.platform_resources import postgresql_from_env


def test_bad_port_names_the_variable(monkeypatch):
    monkeypatch.setenv("CFWB_PG_PORT", "54 32")
    with pytest.raises(ValueError, match=r"CFWB_PG_PORT must be a port number, e.g. 5432; found '54 32'"):
        postgresql_from_env()


def test_port_from_env(monkeypatch):
    monkeypatch.setenv("CFWB_PG_PORT", "6543")
    assert postgresql_from_env().port == 6543
