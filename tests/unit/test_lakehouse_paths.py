import pytest

from dagster_cfwb.transfer.identifiers import IdentifierError
from dagster_cfwb.transfer.lakehouse_paths import (
    lakehouse_path,
    normalize_lakehouse_path,
    rewrite_lakehouse_urls,
)


def test_lakehouse_path_layers():
    assert lakehouse_path("enseignement", "gld", "eleves") == "enseignement/gld/eleves.parquet"
    with pytest.raises(ValueError, match="stg, slv, gld"):
        lakehouse_path("enseignement", "gold", "eleves")
    with pytest.raises(IdentifierError):
        lakehouse_path("../etc", "stg", "x")


def test_rewrite_only_touches_azure_literals():
    sql = "SELECT 'azure://x' AS label FROM 'azure://a/stg/*.parquet' JOIN 'az://b/c.parquet' USING (id)"
    out = rewrite_lakehouse_urls(sql, lambda p: f"/root/{p}")
    assert out == "SELECT '/root/x' AS label FROM '/root/a/stg/*.parquet' JOIN '/root/b/c.parquet' USING (id)"
    assert rewrite_lakehouse_urls("SELECT 'plain'", lambda p: p) == "SELECT 'plain'"


@pytest.mark.parametrize("bad", ["", "a/../b", "/", "a//b", "azure://"])
def test_normalize_rejects_escapes(bad):
    with pytest.raises(ValueError):
        normalize_lakehouse_path(bad)
