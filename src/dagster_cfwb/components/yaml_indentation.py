"""Explain a mis-indented key or list item: which key above it it fails to line up with, by how much.

PyYAML reports these as `expected <block end>, but found '<block mapping start>'`, sometimes on
another line; here the keys and list items above the mistake (from PyYAML's own tokens, so the
text of `|`/`>` blocks and of `{…}`/`[…]` is ignored) give the block it should belong to.
"""

from __future__ import annotations

import dataclasses
import re

import yaml

__all__ = ["KEY_LINE", "misaligned"]

KEY_LINE = re.compile(r"^(?P<indent> *)(?P<dash>- +)?(?P<key>[^\s#:'\"{}\[\],][^:#]*?)\s*:(?=\s|$)")


@dataclasses.dataclass(frozen=True)
class _Item:
    line: int  # 1-based
    column: int  # 0-based
    label: str  # "`name:`" or "the list item `-`"
    is_dash: bool


def _structure(text: str, before_line: int) -> list[_Item]:
    """Keys and list items of the block context before `before_line`, in file order."""
    items: list[_Item] = []
    flow = 0
    pending_key: tuple[int, int] | None = None
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if token.start_mark.line + 1 >= before_line:
                break
            if isinstance(token, yaml.FlowMappingStartToken | yaml.FlowSequenceStartToken):
                flow += 1
            elif isinstance(token, yaml.FlowMappingEndToken | yaml.FlowSequenceEndToken):
                flow -= 1
            elif flow:
                continue
            elif isinstance(token, yaml.BlockEntryToken):
                items.append(
                    _Item(token.start_mark.line + 1, token.start_mark.column, "the list item `-`", True)
                )
            elif isinstance(token, yaml.KeyToken):
                pending_key = (token.start_mark.line + 1, token.start_mark.column)
            elif isinstance(token, yaml.ScalarToken) and pending_key:
                items.append(_Item(*pending_key, f"`{token.value}:`", False))
                pending_key = None
    except yaml.YAMLError:
        pass
    return items


def _spaces(n: int) -> str:
    return f"{n} space{'s' if n != 1 else ''}"


def misaligned(lines: list[str], text: str, number: int, column: int) -> tuple[str, tuple[int, ...]]:
    """The message for the key or list item on line `number` (1-based `column`), and the lines to show."""
    raw = lines[number - 1] if number <= len(lines) else ""
    col = column - 1
    is_dash = raw[col : col + 1] == "-"
    match = KEY_LINE.match(raw)
    label = "the list item `-`" if is_dash else f"`{match.group('key').strip()}:`" if match else "this line"
    chain: list[_Item] = []  # the enclosing blocks, nearest first
    smallest = None
    for item in reversed(_structure(text, number)):
        if smallest is None or item.column < smallest:
            chain.append(item)
            smallest = item.column
    same_kind = [i for i in chain if i.is_dash == is_dash] or chain
    deeper = min((i for i in same_kind if i.column > col), key=lambda i: i.column, default=None)
    shallower = max((i for i in same_kind if i.column < col), key=lambda i: i.column, default=None)
    rule = "items of one list must line up" if is_dash else "keys of one block must line up"
    if deeper and shallower and deeper.column - col == col - shallower.column:
        message = (
            f"{label} is indented {_spaces(deeper.column - col)} less than {deeper.label} (line {deeper.line}) "
            f"and {_spaces(col - shallower.column)} more than {shallower.label} (line {shallower.line}) above it; "
            f"{rule}: indent it exactly like the one it belongs with"
        )
        return message, (deeper.line, shallower.line)
    if deeper and (not shallower or deeper.column - col < col - shallower.column):
        message = (
            f"{label} is indented {_spaces(deeper.column - col)} less than {deeper.label} above it "
            f"(line {deeper.line}); {rule}"
        )
        return message, (deeper.line,)
    if shallower:
        has_value = not is_dash and _has_value(lines, shallower.line)
        extra = (
            f"; {shallower.label} already has a value, so nothing can be indented under it"
            if has_value and not shallower.is_dash
            else ""
        )
        message = (
            f"{label} is indented {_spaces(col - shallower.column)} more than {shallower.label} above it "
            f"(line {shallower.line}); {rule}{extra}"
        )
        return message, (shallower.line,)
    return f"{label} is not indented like the lines above it; {rule}", ()


def _has_value(lines: list[str], number: int) -> bool:
    raw = lines[number - 1] if number <= len(lines) else ""
    match = KEY_LINE.match(raw)
    return bool(match and raw[match.end() :].split(" #", 1)[0].strip())
