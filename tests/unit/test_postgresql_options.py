"""PostgreSQLResource turns its TLS and timeout fields into libpq connection options."""

from dagster_cfwb.resources.db.postgresql_resource import PostgreSQLResource


def test_tls_and_timeout_options_reach_the_driver():
    pg = PostgreSQLResource(
        host="pg.example",
        password="x",
        sslmode="verify-full",
        sslrootcert="/ca.pem",
        sslcert="/client.pem",
        sslkey="/client.key",
        connect_timeout_seconds=7,
    )
    kwargs = pg._connect_kwargs()
    assert kwargs["sslmode"] == "verify-full" and kwargs["connect_timeout"] == 7
    assert (kwargs["sslrootcert"], kwargs["sslcert"], kwargs["sslkey"]) == (
        "/ca.pem",
        "/client.pem",
        "/client.key",
    )


def test_unset_tls_files_are_not_sent():
    kwargs = PostgreSQLResource(host="pg.example")._connect_kwargs()
    assert not {"sslrootcert", "sslcert", "sslkey"} & set(kwargs)
