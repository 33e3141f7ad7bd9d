"""PostgreSQL: binary COPY in and out, the read plan (type contract), staging-table swaps."""
