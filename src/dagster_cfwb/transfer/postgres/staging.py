"""PostgreSQL staging tables: their names, the swap that replaces a table, and orphan cleanup.

A staging table is named `_cfwb_<target>_<8 hex>`: the target part is shortened to fit
PostgreSQL's 63-byte limit (never the random suffix, so two concurrent loads never collide and
the server never truncates the name). A staging table that outlives its transaction (the
parallel COPY path commits it) carries the comment `dagster-cfwb staging, backend <pid>`; the
next load in the same schema drops every such table whose backend is gone
(`drop_orphan_staging`, called at the start of each load).
"""

from __future__ import annotations

import secrets

from dagster_cfwb.transfer.identifiers import QualifiedName, derived_name, quote_identifier

__all__ = ["STAGING_COMMENT", "drop_orphan_staging", "staging_name", "swap_in"]

STAGING_COMMENT = "dagster-cfwb staging, backend "


def _q(name: str) -> str:
    return quote_identifier(name, "postgres")


def staging_name(table: QualifiedName) -> QualifiedName:
    """A fresh staging name for `table` that fits 63 bytes and keeps its random suffix."""
    name = derived_name("_cfwb_", table.table, f"_{secrets.token_hex(4)}", "postgres")
    return QualifiedName(name, table.schema, dialect="postgres")


def drop_orphan_staging(cur, table: QualifiedName) -> list[str]:
    """Drop staging tables in `table`'s schema left by loads whose backend no longer exists.

    A table counts as orphaned only when its comment names a backend pid that is not in
    `pg_stat_activity`: live loads (and tables of other tools) are never touched.
    Returns the names dropped.
    """
    cur.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = coalesce(%s, current_schema()) AND c.relkind = 'r' AND c.relname LIKE '\\_cfwb\\_%%' "
        "AND obj_description(c.oid, 'pg_class') LIKE %s "
        "AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE obj_description(c.oid, 'pg_class') "
        "  = %s || a.pid)",
        (table.schema, STAGING_COMMENT + "%", STAGING_COMMENT),
    )
    names = [name for (name,) in cur.fetchall()]
    for name in names:
        cur.execute(f"DROP TABLE IF EXISTS {QualifiedName(name, table.schema, dialect='postgres').quoted()}")
    return names


def mark_staging(cur, staging: QualifiedName) -> None:
    """Comment `staging` with this backend's pid, so a later load can tell when it is orphaned."""
    cur.execute("SELECT pg_backend_pid()")
    pid = int(cur.fetchone()[0])
    cur.execute(f"COMMENT ON TABLE {staging.quoted()} IS '{STAGING_COMMENT}{pid}'")


def swap_in(cur, staging: QualifiedName, table: QualifiedName, keys: list[str]) -> bool:
    """Replace `table` by `staging` inside the caller's transaction; True if `table` existed.

    Concurrent replaces of one table take turns on a transaction-scoped advisory lock, and the
    existence of the target is read after the lock, so two replaces at once both succeed (the
    last one wins) instead of failing with `DuplicateTable`/`UndefinedTable`. The caller must
    not look the target up earlier in the same transaction (the backend would cache the answer).
    """
    cur.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"dagster-cfwb swap {table.quoted()}",)
    )
    cur.execute("SELECT to_regclass(%s)::oid", (table.quoted(),))
    row = cur.fetchone()
    exists = row is not None and row[0] is not None
    # The key gets a temporary name (the old table's `<table>_pkey` still exists), renamed below.
    pkey = f"_cfwb_pkey_{secrets.token_hex(4)}"
    if keys:
        cur.execute(
            f"ALTER TABLE {staging.quoted()} ADD CONSTRAINT {_q(pkey)} "
            f"PRIMARY KEY ({', '.join(_q(k) for k in keys)})"
        )
    if exists:
        _carry_over_grants_and_comments(cur, table, staging)
        dependents = _dependent_views(cur, table)
        if dependents:
            raise ValueError(
                f"Cannot replace PostgreSQL table `{table}`: view(s) {dependents} depend on it. Load with "
                "mode='append' after a TRUNCATE, or drop and recreate the views around the load."
            )
        cur.execute(f"DROP TABLE {table.quoted()}")
    else:  # the staging comment must not stay on the new table
        cur.execute(f"COMMENT ON TABLE {staging.quoted()} IS NULL")
    cur.execute(f"ALTER TABLE {staging.quoted()} RENAME TO {_q(table.table)}")
    if keys:  # PostgreSQL's own name for a table's key, as CREATE TABLE … PRIMARY KEY gives it
        final = derived_name("", table.table, "_pkey", "postgres")
        cur.execute(f"ALTER TABLE {table.quoted()} RENAME CONSTRAINT {_q(pkey)} TO {_q(final)}")
    return exists


def _dependent_views(cur, table: QualifiedName) -> list[str]:
    cur.execute(
        "SELECT DISTINCT v.oid::regclass::text FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid "
        "JOIN pg_class v ON v.oid = r.ev_class WHERE d.refobjid = to_regclass(%s) AND v.oid <> d.refobjid",
        (table.quoted(),),
    )
    return [r[0] for r in cur.fetchall()]


def _carry_over_grants_and_comments(cur, old: QualifiedName, new: QualifiedName) -> None:
    """Give the new table the old one's privileges and table/column comments (a replace keeps them).

    COMMENT takes no bound parameters, so comment texts are rendered by psycopg's `sql.Literal`.
    """
    from psycopg import sql

    cur.execute(
        "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END, a.privilege_type, "
        "a.is_grantable FROM pg_class c, aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee "
        "WHERE c.oid = to_regclass(%s) AND a.grantee <> c.relowner",
        (old.quoted(),),
    )
    for grantee, privilege, grantable in cur.fetchall():
        option = " WITH GRANT OPTION" if grantable else ""
        # grantee is quoted by the server (quote_ident); privilege is one of PostgreSQL's keywords
        cur.execute(f"GRANT {privilege} ON {new.quoted()} TO {grantee}{option}")
    cur.execute("SELECT obj_description(to_regclass(%s), 'pg_class')", (old.quoted(),))
    comment = cur.fetchone()[0]
    # the new table's own staging comment is replaced by the old table's comment (or removed)
    cur.execute(
        sql.SQL("COMMENT ON TABLE {} IS {}").format(
            sql.SQL(new.quoted()), sql.Literal(comment) if comment is not None else sql.SQL("NULL")
        )
    )
    cur.execute(
        "SELECT a.attname, col_description(a.attrelid, a.attnum) FROM pg_attribute a "
        "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped "
        "AND col_description(a.attrelid, a.attnum) IS NOT NULL",
        (old.quoted(),),
    )
    for column, text in cur.fetchall():
        cur.execute(
            "SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attname = %s AND NOT attisdropped",
            (new.quoted(), column),
        )
        if cur.fetchone():
            target = sql.SQL(f"{new.quoted()}.{_q(column)}")
            cur.execute(sql.SQL("COMMENT ON COLUMN {} IS {}").format(target, sql.Literal(text)))
