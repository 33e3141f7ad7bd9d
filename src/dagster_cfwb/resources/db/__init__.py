"""SQL database resources with one interface: PostgreSQL, MySQL/MariaDB, SQL Server, DB2."""

from dagster_cfwb.resources.db.db2_resource import DB2Resource
from dagster_cfwb.resources.db.mssql_resource import MSSQLResource
from dagster_cfwb.resources.db.mysql_resource import MySQLResource
from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource
from dagster_cfwb.resources.db.sql_resource import DatabaseConnectionError, SQLDatabaseResource

__all__ = [
    "DB2Resource",
    "DatabaseConnectionError",
    "MSSQLResource",
    "MySQLResource",
    "PostgreSQLResource",
    "SQLDatabaseResource",
]
