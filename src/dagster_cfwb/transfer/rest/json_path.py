"""Read a value out of a JSON body by a dotted path such as `data.items` or `links.next.href`."""

from __future__ import annotations

from typing import Any

__all__ = ["MISSING", "get_path"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


def get_path(body: Any, path: str | None) -> Any:
    """The value at `path` in `body`, or `MISSING` when a step does not exist.

    Steps are separated by dots; a step that is a whole number indexes a list (`results.0.id`).
    An empty path (`None` or `""`) returns the body itself.

    Example:
        >>> get_path({"data": {"items": [1, 2]}}, "data.items")
        [1, 2]
    """
    if not path:
        return body
    current = body
    for step in path.split("."):
        if isinstance(current, dict):
            if step not in current:
                return MISSING
            current = current[step]
        elif isinstance(current, list) and step.lstrip("-").isdigit():
            index = int(step)
            if not -len(current) <= index < len(current):
                return MISSING
            current = current[index]
        else:
            return MISSING
    return current
