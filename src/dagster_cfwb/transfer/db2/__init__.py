"""IBM DB2: bulk loads and the type table (tested against a recording driver)."""
