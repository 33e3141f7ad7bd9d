"""Generic data platform location: shared demo pipeline (seed asset gld_example) and the dbt project over the lakehouse."""
