"""YAML syntax mistakes of a defs.yaml are explained in plain words, with the line and a caret."""

from __future__ import annotations

from pathlib import Path

import pytest

from dagster_cfwb.components.yaml_syntax_errors import yaml_syntax_error, yaml_syntax_problems

BASE = """type: dagster_cfwb.LakehouseImportComponent
attributes:
  imports:
    - source:
        kind: file
        path: a.csv
      target:
        code_location: enseignement
        layer: stg
        table: t
      checks:
        - {type: not_null, columns: [a]}
        - {type: unique, columns: [a]}
"""

CASES = [
    (
        "key indented less",
        ("        layer: stg", "       layer: stg"),
        9,
        "`layer:` is indented 1 space less than `code_location:` (line 8) and 1 space more than `target:` "
        "(line 7) above it; keys of one block must line up",
    ),
    (
        "key indented more, under a key with a value",
        ("        layer: stg", "         layer: stg"),
        9,
        "`layer:` is indented 1 space more than `code_location:` above it (line 8); keys of one block must "
        "line up; `code_location:` already has a value",
    ),
    (
        "key of a list item indented less",
        ("      target:", "     target:"),
        7,
        "`target:` is indented 1 space less than `source:` above it (line 4)",
    ),
    (
        "top-level key indented",
        ("attributes:", " attributes:"),
        2,
        "`attributes:` is indented 1 space more than `type:` above it (line 1)",
    ),
    (
        "list item indented less",
        ("        - {type: unique", "       - {type: unique"),
        13,
        "the list item `-` is indented 1 space less than the list item `-` above it (line 12); items of one "
        "list must line up",
    ),
    (
        "list item indented more",
        ("        - {type: unique", "         - {type: unique"),
        13,
        "the list item `-` is indented 1 space more than the list item `-` above it (line 12)",
    ),
    ("tab in indentation", ("        layer: stg", "\tlayer: stg"), 9, "a tab character in the indentation"),
    ("tab after colon", ("        layer: stg", "        layer:\tstg"), 9, "a tab character after `layer:`"),
    (
        "missing space after colon",
        ("        layer: stg", "        layer:stg"),
        9,
        "a space is missing after `layer:`; write `layer: stg`",
    ),
    ("no colon", ("        layer: stg", "        layer stg"), 9, "`layer stg` has no `:`"),
    (
        "unclosed double quote",
        ("path: a.csv", 'path: "a.csv'),
        6,
        'the quote " that opens this value is never closed',
    ),
    ("unclosed single quote", ("path: a.csv", "path: 'a.csv"), 6, "the quote ' that opens this value"),
    (
        "quote inside a quoted value",
        ("path: a.csv", "path: 'l'aide.csv'"),
        6,
        "the quote closes before the end of the value of `path:`; inside '…' write a quote as '' (two), or use "
        'the other quote: `path: "l\'aide.csv"`',
    ),
    (
        "colon inside a value",
        ("path: a.csv", "path: note: a.csv"),
        6,
        'the value of `path:` contains `: `; put the value in quotes: `path: "note: a.csv"`',
    ),
    (
        "unclosed bracket",
        ("- {type: not_null, columns: [a]}", "- {type: not_null, columns: [a}"),
        12,
        "the `[` opened here is not closed (found `}` at line 12); add `]`",
    ),
    (
        "unquoted template",
        ("path: a.csv", "path: {{ env('X') }}"),
        6,
        "a `{{ … }}` template must be in quotes, or YAML reads the braces as a mapping: write "
        "`path: \"{{ env('X') }}\"`",
    ),
    (
        "list item folded into the text above",
        (
            "columns: [a]}\n        - {type: unique, columns: [a]}",
            "columns: [a]}\n      columns:\n        - a\n         - b",
        ),
        15,
        "this list item is indented deeper than the line above it (line 14), so YAML reads it as more text of "
        "that value ('a - b')",
    ),
    (
        "list item without dash",
        ("        - {type: unique", "          {type: unique"),
        13,
        "this item has no `- ` in front of it; each item of the list starts with `- `, lined up with the item "
        "of line 12",
    ),
    (
        "colon missing before a mapping",
        (
            "      target:\n        code_location: enseignement",
            '      target:\n        code_location: enseignement\n        options {delimiter: ";"}  # x',
        ),
        9,
        'a colon is missing after `options`; write `options: {delimiter: ";"}`',
    ),
    (
        "text that is not a key",
        ("type: dagster_cfwb", "Import des élèves\ntype: dagster_cfwb"),
        1,
        "`Import des élèves` has no `:`; a setting is written `key: value`",
    ),
    (
        "repeated key",
        ("        table: t", "        table: t\n        table: u"),
        11,
        "`table:` is written twice in this block (first at line 10); YAML would silently keep only the last",
    ),
]


@pytest.mark.parametrize(("mistake", "edit", "line", "message"), CASES, ids=[c[0] for c in CASES])
def test_mistake_is_explained(mistake, edit, line, message):
    text = BASE.replace(*edit)
    assert text != BASE
    problems = yaml_syntax_problems(text, "defs.yaml")
    assert len(problems) == 1, [p.message for p in problems]
    assert problems[0].line == line
    assert message in problems[0].message
    rendered = problems[0].render(text)
    assert rendered.startswith(f"defs.yaml, line {line}: ")
    assert f"{line:>4} | {text.splitlines()[line - 1]}" in rendered
    caret = rendered.splitlines()[
        rendered.splitlines().index(f"    {line:>4} | {text.splitlines()[line - 1]}") + 1
    ]
    assert caret == "         | " + " " * (problems[0].column - 1) + "^"


def test_valid_yaml_has_no_problem():
    assert yaml_syntax_problems(BASE, "defs.yaml") == []
    assert yaml_syntax_problems(BASE + "---\n" + BASE, "defs.yaml") == []


def test_tab_inside_a_value_or_a_block_text_is_allowed():
    text = BASE.replace("path: a.csv", 'path: a.csv\n        options: {delimiter: "\t"}')
    text += "      description: |\n        col1\tcol2\n"
    assert yaml_syntax_problems(text, "defs.yaml") == []


def test_indentation_ignores_the_lines_of_a_block_text():
    text = BASE.replace(
        "        path: a.csv\n",
        "        query: >-\n          SELECT 1\n            FROM x\n       resource_key: pg\n",
    )
    (problem,) = yaml_syntax_problems(text, "defs.yaml")
    assert "`resource_key:` is indented 1 space less than `query:` (line 6)" in problem.message


def test_error_for_files_lists_every_file(tmp_path):
    good, bad1, bad2 = tmp_path / "a.yaml", tmp_path / "b.yaml", tmp_path / "c.yaml"
    good.write_text(BASE)
    bad1.write_text(BASE.replace("layer: stg", "layer:stg"))
    bad2.write_text(BASE.replace("attributes:", " attributes:"))
    assert yaml_syntax_error([good]) is None
    error = yaml_syntax_error([good, bad1, bad2])
    assert str(error).startswith("YAML syntax errors in defs.yaml (2):\n- ")
    assert (
        len(error.problems) == 2
        and "b.yaml, line 9" in error.problems[0]
        and "c.yaml, line 2" in error.problems[1]
    )


def test_a_file_that_loads_is_not_refused_at_load_for_a_folded_list_item(tmp_path):
    """`cfwb check` reports it; the location still loads, as before (the value is only mangled)."""
    path = tmp_path / "defs.yaml"
    path.write_text(
        BASE.replace(
            "        path: a.csv\n", "        path: a.csv\n        columns:\n          - a\n           - b\n"
        )
    )
    assert [p.load_fails for p in yaml_syntax_problems(path.read_text(), str(path))] == [False]
    assert yaml_syntax_error([path]) is None


def _one_line_mistakes(lines: list[str]):
    for i, line in enumerate(lines):
        yield [*lines[:i], line[1:], *lines[i + 1 :]]  # one space (or character) less
        yield [*lines[:i], " " + line, *lines[i + 1 :]]
        yield [*lines[:i], line.replace(": ", ":", 1), *lines[i + 1 :]]
        yield [*lines[:i], line.replace(":", "", 1), *lines[i + 1 :]]
        yield [*lines[:i], "\t" + line.lstrip(), *lines[i + 1 :]]
        yield [*lines[:i], line.replace("- ", "  ", 1), *lines[i + 1 :]]
        for char in "\"'[]{}":
            if char in line:
                yield [*lines[:i], line.replace(char, "", 1), *lines[i + 1 :]]


def test_every_unreadable_variant_of_the_platform_yaml_gets_a_problem_and_none_crashes():
    """One-line mistakes in each platform defs.yaml: never a crash, never a green for what PyYAML refuses."""
    import yaml

    from dagster_cfwb.components.yaml_syntax_errors import _problems

    root = Path(__file__).resolve().parents[2] / "platform"
    checked = 0
    for file in sorted(root.rglob("defs.yaml")):
        for variant in _one_line_mistakes(file.read_text(encoding="utf-8").splitlines()):
            text = "\n".join(variant) + "\n"
            problems = _problems(text, str(file))  # not the fallback: the explanations themselves
            for problem in problems:
                problem.render(text)
            try:
                list(yaml.safe_load_all(text))
            except Exception:
                assert problems, text
            checked += 1
    assert checked > 500
