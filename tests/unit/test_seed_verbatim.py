"""The seed asset the README shows is, character for character, the one the integration test runs.

Both copies sit in a `fmt: off` region (an HTML comment in the README, a `# fmt: off` comment in the
test), so `ruff format --check` in the test command leaves the design's layout alone.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _readme_seed() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The seed asset", 1)[1]
    block = re.search(r"<!-- fmt: off -->\n```python\n(.*?)```\n<!-- fmt: on -->", section, re.S)
    assert block, (
        "README.md: the seed asset block must sit between `<!-- fmt: off -->` and `<!-- fmt: on -->`"
    )
    return block.group(1)[block.group(1).index("@asset()") :]


def _test_seed() -> str:
    test = (ROOT / "tests" / "integration" / "test_seed_asset.py").read_text(encoding="utf-8")
    region = re.search(r"\n# fmt: off\n(.*?)# fmt: on\n", test, re.S)
    assert region, "test_seed_asset.py: the seed asset must sit between `# fmt: off` and `# fmt: on`"
    return region.group(1)


def test_readme_seed_is_the_tested_seed():
    assert _readme_seed() == _test_seed()
