"""Microsoft SQL Server: bulk loads and the type table (tested against a recording driver)."""
