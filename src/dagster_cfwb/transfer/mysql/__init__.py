"""MySQL / MariaDB: readers (connectorx, text protocol), the result type contract, LOAD DATA loads."""
