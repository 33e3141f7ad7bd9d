"""Files to Arrow: CSV, Excel, JSON/NDJSON and Parquet readers, listings and the file-to-lakehouse load."""
