"""One secrets story in every doc: no YAML resource example puts a secret under `config` (which the
`ResourcesComponent` refuses, even as `{{ env(...) }}`), and no step tells to do so in words."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from dagster_cfwb.resources.secrets import is_secret_field

ROOT = Path(__file__).resolve().parents[2]
DOCS = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md", ROOT / "platform" / "README.md"]
_YAML_BLOCK = re.compile(r"^( *)```ya?ml\n(.*?)^\1```", re.S | re.M)


def _resources_configs(node):
    """Every `config` mapping of a `resources:` entry, anywhere in a parsed YAML document."""
    if isinstance(node, dict):
        for name, entry in (
            (node.get("resources") or {}).items() if isinstance(node.get("resources"), dict) else []
        ):
            if isinstance(entry, dict) and isinstance(entry.get("config"), dict):
                yield name, entry["config"]
        for value in node.values():
            yield from _resources_configs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _resources_configs(value)


def test_no_doc_puts_a_secret_under_config():
    problems = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for match in _YAML_BLOCK.finditer(text):
            block = "\n".join(line[len(match.group(1)) :] for line in match.group(2).splitlines())
            try:
                parsed = list(yaml.safe_load_all(block))
            except yaml.YAMLError:
                continue  # fragments (a few lines of a larger file) are not checked here
            for name, config in _resources_configs(parsed):
                secrets = [key for key, value in config.items() if is_secret_field(key) and value]
                if secrets:
                    problems.append(f"{doc.name}: resource `{name}` has {secrets} under `config`")
        for number, line in enumerate(text.splitlines(), 1):
            # a password read with `{{ env() }}` in prose or YAML: the component refuses it under `config`
            # (the notification channels read theirs with `{{ env() }}`: not resources, not shown)
            if re.search(r"\{\{ ?env\(['\"](?!SMTP_)[A-Z0-9_]*(PASSWORD|SECRET)", line):
                problems.append(f"{doc.name}:{number}: {line.strip()}")
    assert problems == [], "use `secrets_from_env` for secrets:\n" + "\n".join(problems)
