"""Explain YAML syntax mistakes of a `defs.yaml` in plain words: file, line, what to write instead.

PyYAML reports a mis-indented key as `expected <block end>, but found '<block mapping start>'`
(often on another line than the mistake) and Dagster shows it under a long traceback. Here the
common mistakes get one sentence each, the line itself and a caret under the column:

- a key or a list item `-` indented more or less than the block it belongs to,
- a tab character, a missing space after `key:`, a line without `:`,
- an unclosed quote, `[` or `{`, a `:` inside an unquoted value,
- a `{{ … }}` template not in quotes, a key written twice in one block (YAML keeps the last
  one silently).

Used by `cfwb check` and, before Dagster parses them, by the code location's load
(`dagster_cfwb.deployment.location_definitions`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from pathlib import Path

import yaml

from dagster_cfwb.components.yaml_indentation import KEY_LINE as _KEY_LINE
from dagster_cfwb.components.yaml_indentation import misaligned

__all__ = ["YamlSyntaxProblem", "yaml_syntax_error", "yaml_syntax_problems"]

_NO_SPACE = re.compile(r"^ *(?:- +)?(?P<key>[A-Za-z_][\w.-]*):(?P<value>[^\s/].*)$")
_KEY_BEFORE_BRACE = re.compile(r"^ *(?:- +)?(?P<key>[A-Za-z_][\w.-]*) +[{\[]")
_TEMPLATE_UNQUOTED = re.compile(r"^ *(?:- +)?(?:[^'\"#]*?:\s+)?\{\{")


@dataclasses.dataclass(frozen=True)
class YamlSyntaxProblem:
    """One YAML mistake: where it is (file, line, column: 1-based) and what to do."""

    filename: str
    line: int
    column: int
    message: str
    context: tuple[int, ...] = ()  # other lines worth showing (e.g. the key it should line up with)
    load_fails: bool = True  # False: the file loads, but not as the author meant (`cfwb check` only)

    def render(self, text: str | None = None) -> str:
        """`file, line N: message` followed by the line(s) and a caret under the column."""
        lines = _lines(self.filename) if text is None else text.splitlines()
        shown = []
        for number in sorted({*self.context, self.line}):
            if 1 <= number <= len(lines):
                shown.append(f"    {number:>4} | {lines[number - 1].rstrip()}")
                if number == self.line:
                    shown.append(f"         | {' ' * max(self.column - 1, 0)}^")
        return "\n".join([f"{self.filename}, line {self.line}: {self.message}", *shown])


def _lines(filename: str) -> list[str]:
    try:
        return Path(filename).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []


def yaml_syntax_problems(text: str, filename: str) -> list[YamlSyntaxProblem]:
    """The syntax mistakes of one YAML file (empty when it parses and has no repeated key)."""
    try:
        return _problems(text, filename)
    except Exception:  # an input the explanations do not foresee: PyYAML's own words, never a crash
        try:
            list(yaml.load_all(text, Loader=yaml.SafeLoader))
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            return [YamlSyntaxProblem(filename, line, column, f"YAML cannot read this: {e.problem or e}")]
        except Exception as e:
            return [YamlSyntaxProblem(filename, 1, 1, f"the YAML cannot be read: {e}")]
        return []


def _problems(text: str, filename: str) -> list[YamlSyntaxProblem]:
    if "\t" in text:
        tabs = _tab_problems(text, filename)
        if tabs:
            return tabs
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as e:
        return [_unquoted_template(text, filename) or explain_yaml_error(e, text, filename)]
    problems = [p for node in nodes for p in _repeated_keys(node, filename)]
    problems.extend(_items_read_as_text(text, filename))
    try:  # a value Python cannot hold as a key, e.g. an unquoted `{{ … }}` template
        list(yaml.load_all(text, Loader=yaml.SafeLoader))
    except (yaml.YAMLError, TypeError) as e:
        found = _unquoted_template(text, filename)
        problems.append(found or YamlSyntaxProblem(filename, 1, 1, f"the YAML cannot be read: {e}"))
    return problems


def yaml_syntax_error(files: Iterable[str | Path]) -> ValueError | None:
    """One ComponentYamlError listing the syntax mistakes of `files` (None when there is none).

    Returned rather than raised, so that the caller raises it from its own line: Dagster shows the
    frames of a load error, and the fewer there are, the sooner the analyst reads the message.
    """
    from dagster_cfwb.components.yaml_errors import ComponentYamlError

    problems = []
    for file in files:
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            problems.append(f"{path}: not UTF-8 text ({e.reason} at byte {e.start}); save the file as UTF-8")
            continue
        problems.extend(p.render(text) for p in yaml_syntax_problems(text, str(path)) if p.load_fails)
    if problems:
        count = len(problems)
        head = f"YAML syntax error{'s' if count > 1 else ''} in defs.yaml ({count}):"
        return ComponentYamlError("\n".join([head, *(f"- {p}" for p in problems)]), problems=problems)
    return None


# -- the explanations ------------------------------------------------------------------------------


def explain_yaml_error(error: yaml.MarkedYAMLError, text: str, filename: str) -> YamlSyntaxProblem:
    """One plain-language problem for PyYAML's `error` on `text`."""
    lines = text.splitlines()
    mark = error.problem_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    context_line = error.context_mark.line + 1 if error.context_mark else None
    problem = error.problem or ""
    context = error.context or ""

    def problem_at(number: int, col: int, message: str, *others: int) -> YamlSyntaxProblem:
        return YamlSyntaxProblem(filename, number, col, message, tuple(o for o in others if o))

    if "could not find expected ':'" in problem and context_line:
        return _missing_colon(lines, context_line, filename)
    for number in (line, context_line):
        if number and number <= len(lines) and _NO_SPACE.match(lines[number - 1]) and "quoted" not in context:
            return _missing_colon(lines, number, filename)
    raw = lines[line - 1] if 0 < line <= len(lines) else ""
    no_colon = _KEY_BEFORE_BRACE.match(raw)
    if no_colon:
        key = no_colon.group("key")
        return problem_at(
            line,
            no_colon.start("key") + 1,
            f"a colon is missing after `{key}`; write `{key}: {_code(raw)[no_colon.end('key') :].strip()}`",
        )
    if ("found '{'" in problem or "found '['" in problem) and "block collection" in context:
        return problem_at(
            line,
            column,
            f"this item has no `- ` in front of it; each item of the list starts with `- `, lined up with the "
            f"item of line {context_line}",
            context_line or 0,
        )
    if "quoted scalar" in context and context_line and error.context_mark:
        quote = lines[context_line - 1][error.context_mark.column]
        return problem_at(
            context_line,
            error.context_mark.column + 1,
            f"the quote {quote} that opens this value is never closed; add the closing {quote} at the "
            "end of the value",
        )
    if context.startswith("while parsing a flow") and error.context_mark and context_line:
        opened = lines[context_line - 1][error.context_mark.column]
        closing = {"[": "]", "{": "}"}.get(opened, "]")
        return problem_at(
            context_line,
            error.context_mark.column + 1,
            f"the `{opened}` opened here is not closed (found {_token(problem)} at line {line}); "
            f"add `{closing}`, and separate the items with `, `",
            line,
        )
    if "mapping values are not allowed" in problem:
        return _colon_problem(lines, line, column, filename)
    if "found '<block mapping start>'" in problem or "found '<block sequence start>'" in problem:
        return _misaligned(lines, text, line, column, filename)
    if "but found '-'" in problem or "but found '?'" in problem:
        return _misaligned(lines, text, line, column, filename)
    if "but found '<scalar>'" in problem:
        return _after_quote(lines, line, column, filename)
    if "cannot start any token" in problem:
        char = problem.split("'")[1] if "'" in problem else "?"
        return problem_at(
            line,
            column,
            f"a value cannot start with the character '{char}'; put the whole value in double quotes",
        )
    where = f" ({context} started at line {context_line})" if context and context_line else ""
    return problem_at(line, column, f"YAML cannot read this: {problem}{where}.", context_line or 0)


def _token(problem: str) -> str:
    found = problem.split("but got ")[-1].split("but found ")[-1].strip()
    return "the end of the file" if "stream end" in found else f"`{found.strip(chr(39))}`"


def _tab_problems(text: str, filename: str) -> list[YamlSyntaxProblem]:
    problems = []
    in_block_scalar = None
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.lstrip(" \t")
        indent = len(raw) - len(stripped)
        if in_block_scalar is not None and (not stripped or indent > in_block_scalar):
            continue  # text of a `|` / `>` block: a tab there is part of the value
        in_block_scalar = None
        code = raw.split(" #", 1)[0]
        if re.search(r":\s*[|>][-+]?\s*$", code):
            in_block_scalar = indent
        position = raw.find("\t")
        if position < 0 or stripped.startswith("#"):
            continue
        before = raw[:position]
        if before.strip() and not re.search(r"(:|-)\s*$", before):
            continue  # a tab inside a value (e.g. a quoted delimiter) is allowed
        if before.strip():
            message = f"a tab character after `{before.strip()}`; YAML allows only spaces there: use a space"
        else:
            message = (
                "a tab character in the indentation; YAML indents with spaces only: replace the tab with "
                "spaces (2 per level, lined up with the lines above)"
            )
        problems.append(YamlSyntaxProblem(filename, number, position + 1, message))
    return problems


def _missing_colon(lines: list[str], number: int, filename: str) -> YamlSyntaxProblem:
    raw = lines[number - 1] if number <= len(lines) else ""
    indent = len(raw) - len(raw.lstrip(" "))
    match = _NO_SPACE.match(raw)
    if match:
        key, value = match.group("key"), _code(match.group("value"))
        column = raw.index(":", indent) + 2
        message = f"a space is missing after `{key}:`; write `{key}: {value.strip()}`"
    elif ":" not in raw.split("#", 1)[0]:
        column = indent + 1
        message = (
            f"`{_short(raw.strip())}` has no `:`; a setting is written `key: value` (a colon, then a space), "
            "a list item starts with `- ` and a comment with `#`"
        )
    else:
        column = indent + 1
        message = "this line is not `key: value`; check the colon (followed by a space) and the quotes"
    return YamlSyntaxProblem(filename, number, column, message)


def _colon_problem(lines: list[str], number: int, column: int, filename: str) -> YamlSyntaxProblem:
    raw = lines[number - 1] if number <= len(lines) else ""
    match = _KEY_LINE.match(raw)
    if match and match.end() - 1 < column - 1:
        key = match.group("key").strip()
        value = raw[match.end() :].strip()
        return YamlSyntaxProblem(
            filename,
            number,
            column,
            f'the value of `{key}:` contains `: `; put the value in quotes: `{key}: "{value}"`',
        )
    return _misaligned(lines, "\n".join(lines), number, len(raw) - len(raw.lstrip(" ")) + 1, filename)


def _after_quote(lines: list[str], number: int, column: int, filename: str) -> YamlSyntaxProblem:
    raw = lines[number - 1] if number <= len(lines) else ""
    before = raw[: column - 1].rstrip()
    if before and before[-1] in "'\"":
        match = _KEY_LINE.match(raw)
        key = match.group("key").strip() if match else "the key"
        value = raw[match.end() :].strip() if match else raw.strip()
        inner = value.strip("'\"")
        return YamlSyntaxProblem(
            filename,
            number,
            column,
            f"the quote closes before the end of the value of `{key}:`; inside '…' write a quote as '' "
            f'(two), or use the other quote: `{key}: "{inner}"`',
        )
    if "{{" in raw:
        return _template_problem(filename, number, raw)
    return _misaligned(lines, "\n".join(lines), number, column, filename)


def _template_problem(filename: str, number: int, raw: str) -> YamlSyntaxProblem:
    match = _KEY_LINE.match(raw)
    start = raw.index("{{")
    if match:
        key = match.group("key").strip()
        value = raw[match.end() :].split(" #", 1)[0].strip()
        example = f'`{key}: "{value}"`'
    else:
        example = f'`"{raw[start:].strip()}"`'
    return YamlSyntaxProblem(
        filename,
        number,
        start + 1,
        f"a `{{{{ … }}}}` template must be in quotes, or YAML reads the braces as a mapping: write {example}",
    )


def _unquoted_template(text: str, filename: str) -> YamlSyntaxProblem | None:
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.lstrip().startswith("#") and _TEMPLATE_UNQUOTED.match(raw):
            return _template_problem(filename, number, raw)
    return None


def _code(text: str) -> str:
    """`text` without its trailing `# comment`."""
    return re.split(r"\s+#", text, maxsplit=1)[0].rstrip()


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "…"


def _misaligned(lines: list[str], text: str, number: int, column: int, filename: str) -> YamlSyntaxProblem:
    message, shown = misaligned(lines, text, number, column)
    if not shown:  # nothing above lines up with it: the line before it is what YAML could not read
        before = next(
            (
                n
                for n in range(number - 1, 0, -1)
                if lines[n - 1].strip() and not lines[n - 1].lstrip().startswith("#")
            ),
            None,
        )
        if before is not None:
            raw = lines[before - 1]
            if _NO_SPACE.match(raw) or ":" not in raw.split("#", 1)[0]:
                return _missing_colon(lines, before, filename)
    return YamlSyntaxProblem(filename, number, column, message, shown)


def _items_read_as_text(text: str, filename: str) -> list[YamlSyntaxProblem]:
    """A `- item` indented deeper than the item above it is silently read as more text of that item."""
    lines = text.splitlines()
    problems = []
    for token in yaml.scan(text, Loader=yaml.SafeLoader):
        if not isinstance(token, yaml.ScalarToken) or token.style is not None:
            continue
        first, last = token.start_mark.line, token.end_mark.line
        for number in range(first + 1, last + 1):
            raw = lines[number] if number < len(lines) else ""
            if raw.lstrip().startswith("- "):
                problems.append(
                    YamlSyntaxProblem(
                        filename,
                        number + 1,
                        len(raw) - len(raw.lstrip()) + 1,
                        f"this list item is indented deeper than the line above it (line {first + 1}), so YAML "
                        f"reads it as more text of that value ({token.value!r}); items of one list must line "
                        "up (for a text with line breaks, write `key: |` and the text below it)",
                        (first + 1,),
                        load_fails=False,
                    )
                )
                break
    return problems


# -- repeated keys ---------------------------------------------------------------------------------


def _repeated_keys(node: yaml.Node | None, filename: str) -> list[YamlSyntaxProblem]:
    problems: list[YamlSyntaxProblem] = []
    stack = [node] if node is not None else []
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.MappingNode):
            first: dict[str, int] = {}
            for key, value in current.value:
                name = str(key.value)
                line = key.start_mark.line + 1
                if name in first:
                    problems.append(
                        YamlSyntaxProblem(
                            filename,
                            line,
                            key.start_mark.column + 1,
                            f"`{name}:` is written twice in this block (first at line {first[name]}); YAML "
                            "would silently keep only the last one: remove one of them",
                            (first[name],),
                        )
                    )
                else:
                    first[name] = line
                stack.append(value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    return sorted(problems, key=lambda p: p.line)
