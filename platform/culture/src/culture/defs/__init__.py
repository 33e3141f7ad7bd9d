"""Definitions of `culture`: one Python module or one folder with a `defs.yaml` per pipeline."""
