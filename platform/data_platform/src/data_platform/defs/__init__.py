"""Definitions of `data_platform`: one Python module or one folder with a `defs.yaml` per pipeline."""
