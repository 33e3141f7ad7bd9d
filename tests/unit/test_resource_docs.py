"""Every resource shows a docstring and a description for each field in the Dagster UI."""

import inspect
import re

import pytest

from dagster_cfwb.resources.api import DenodoResource, RestApiResource
from dagster_cfwb.resources.db.db2_resource import DB2Resource
from dagster_cfwb.resources.db.mssql_resource import MSSQLResource
from dagster_cfwb.resources.db.mysql_resource import MySQLResource
from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource
from dagster_cfwb.resources.files import FTPResource, NFSResource, SFTPResource
from dagster_cfwb.resources.lakehouse import AzureAdlsResource, LocalLakehouseResource

RESOURCES = [
    AzureAdlsResource,
    LocalLakehouseResource,
    PostgreSQLResource,
    MySQLResource,
    MSSQLResource,
    DB2Resource,
    DenodoResource,
    RestApiResource,
    FTPResource,
    SFTPResource,
    NFSResource,
]


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.__name__)
def test_docstring_and_every_field_described(resource):
    assert resource.__doc__ and len(resource.__doc__.strip()) > 80
    assert "Example" in resource.__doc__ or "example" in resource.__doc__
    missing = [name for name, field in resource.model_fields.items() if not (field.description or "").strip()]
    assert missing == [], f"{resource.__name__} fields without description: {missing}"


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.__name__)
def test_docstring_example_is_a_markdown_fence_that_compiles(resource):
    """The UI renders Markdown: the example is a ```python fence whose code is valid Python."""
    doc = inspect.cleandoc(resource.__doc__ or "")
    blocks = re.findall(r"^```python\n(.*?)^```$", doc, re.S | re.M)
    assert blocks, f"{resource.__name__}: a fenced ```python example"
    for code in blocks:
        compile(code, f"<{resource.__name__} docstring>", "exec")
        assert resource.__name__ in code
    assert ".. code-block::" not in doc and not re.search(r":(mod|class|func|meth):`", doc)
