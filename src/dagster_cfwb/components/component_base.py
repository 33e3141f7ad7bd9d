"""What every dagster-cfwb component shares: strict YAML validation with located, readable errors.

Dagster derives a permissive schema from a component's fields (every field also accepts a template
string), which keeps `dg check yaml` and the UI documentation working but reports mistakes as a
wall of union noise. Our components keep that schema for tooling, render the `{{ … }}` templates
first, then validate the rendered attributes against the component's own precise pydantic model,
and turn any problem into a `ComponentYamlError` that names file, line, field, what was
expected, what was found and the valid options.
"""

from __future__ import annotations

from typing import Any, Self

import dagster as dg
from pydantic import BaseModel, PrivateAttr, ValidationError, model_validator

from dagster_cfwb.components.yaml_errors import (
    ComponentYamlError,
    format_template_error,
    format_validation_error,
)

__all__ = ["CfwbComponent", "tighten_json_schema"]

_TEMPLATE = {"type": "string", "pattern": r"^\s*\{\{.*\}\}\s*$", "description": "a `{{ … }}` template"}


def _is_plain_string(branch: Any) -> bool:
    return isinstance(branch, dict) and branch.get("type") == "string" and len(branch) == 1


def _is_structured(branch: Any) -> bool:
    return isinstance(branch, dict) and (
        branch.get("type") in ("object", "array") or "$ref" in branch or "enum" in branch or "const" in branch
    )


def tighten_json_schema(node: Any) -> Any:
    """Dagster's derived schema with the catch-all "any string" alternative removed where it hides mistakes.

    Dagster lets every field also be a string (for `{{ … }}` templates), so `dg check yaml` accepts
    a typo in a choice field and reports a mistake inside a list as "not valid under any of the given
    schemas" on the whole list. Here, for each field (the only place Dagster adds it), the string
    alternative is dropped next to objects, lists and fixed choices, and limited to `{{ … }}`
    templates next to numbers and booleans.
    """
    if isinstance(node, list):
        return [tighten_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: tighten_json_schema(v) for k, v in node.items()}
    if isinstance(node.get("properties"), dict):
        node["properties"] = {name: _tighten_field(prop) for name, prop in node["properties"].items()}
    return node


def _tighten_field(node: Any) -> Any:
    branches = node.get("anyOf") if isinstance(node, dict) else None
    if not (isinstance(branches, list) and any(_is_plain_string(b) for b in branches)):
        return node
    node = dict(node)
    others = [b for b in branches if not _is_plain_string(b)]
    non_null = [b for b in others if b.get("type") != "null"]
    if non_null and all(_is_structured(b) for b in non_null):
        branches = others
    elif non_null and all(b.get("type") in ("integer", "number", "boolean") for b in non_null):
        branches = [*others, _TEMPLATE]
    if len(branches) == 1:
        node.pop("anyOf")
        node.update({k: v for k, v in branches[0].items() if k not in node})
    else:
        node["anyOf"] = branches
    return node


_LENIENT_MODELS: dict[type, type[BaseModel]] = {}


def _lenient_model(component_cls: type[dg.Resolvable]) -> type[BaseModel]:
    """Dagster's derived schema for `component_cls`, accepting anything at validation time.

    The JSON schema (used by `dg check yaml` and the UI) is unchanged; the raw attributes are kept
    so that `CfwbComponent.load` can validate them itself and report readable errors.
    """
    if component_cls not in _LENIENT_MODELS:
        derived = component_cls.model()

        class _Lenient(derived):  # type: ignore[misc, valid-type]
            _cfwb_raw: Any = PrivateAttr(default=None)

            @classmethod
            def model_json_schema(cls, *args, **kwargs):
                return tighten_json_schema(derived.model_json_schema(*args, **kwargs))

            @model_validator(mode="wrap")
            @classmethod
            def _keep_raw(cls, data, handler):
                try:
                    instance = handler(data)
                except ValidationError:
                    instance = cls.model_construct()
                instance._cfwb_raw = data
                return instance

        _Lenient.__name__ = derived.__name__
        _Lenient.__qualname__ = derived.__qualname__
        _LENIENT_MODELS[component_cls] = _Lenient
    return _LENIENT_MODELS[component_cls]


class CfwbComponent(dg.Component, dg.Resolvable, dg.Model):
    """Base of the dagster-cfwb components (not used directly in YAML)."""

    @classmethod
    def get_model_cls(cls) -> type[BaseModel] | None:
        return _lenient_model(cls)

    @classmethod
    def load(cls, attributes: BaseModel | None, context: dg.ComponentLoadContext) -> Self:
        raw = getattr(attributes, "_cfwb_raw", None)
        if raw is None:
            raw = attributes.model_dump(exclude_unset=True) if attributes is not None else {}
        from dagster.components.resolved.errors import ResolutionException
        from dagster.components.resolved.scopes import LoadContextScope

        scoped = context.with_rendering_scope({"context": LoadContextScope(context)})
        resolution = scoped.resolution_context.at_path("attributes")
        try:
            rendered = resolution.resolve_value(raw)
        except ResolutionException as e:
            located = format_template_error(
                e, cls.__name__, raw=raw, source_tree=resolution.source_position_tree
            )
            if located is None:
                raise
            raise located from None
        return cls.validate_attributes(rendered, raw=raw, source_tree=resolution.source_position_tree)

    @classmethod
    def validate_attributes(cls, rendered: Any, *, raw: Any = None, source_tree: Any = None) -> Self:
        """Validate rendered attributes into a component, or raise a located ComponentYamlError."""
        try:
            return cls.model_validate(rendered)
        except ValidationError as e:
            raise format_validation_error(
                e,
                component=cls.__name__,
                model=cls,
                raw=raw if raw is not None else rendered,
                source_tree=source_tree,
            ) from None

    @classmethod
    def from_dict(cls, attributes: dict) -> Self:
        """Build the component from the `attributes:` mapping of a defs.yaml (handy in tests)."""
        return cls.validate_attributes(attributes)


def raise_yaml_error(component: str, message: str) -> None:
    raise ComponentYamlError(f"Invalid `{component}` configuration: {message}")
