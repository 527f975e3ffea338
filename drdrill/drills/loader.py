"""Read a drill file: YAML in, a validated `DrillFile` out, or a `DrillFileError`.

Nothing runs before this returns. Every problem names the file, the field path (as
`probes[0].interval_ms`) and the bad value, so that the operator can fix it without reading
our source.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
import yaml

from drdrill.drills.references import check_references
from drdrill.drills.schema import DrillFile
from drdrill.errors import DrillFileError


@dataclass(frozen=True)
class LoadedDrill:
    """A validated drill file with where it came from and the hash of its bytes."""

    drill: DrillFile
    path: Path
    sha256: str
    warnings: list[str]


def load_drill(path: Path) -> LoadedDrill:
    """Parse and validate a drill file; raises `DrillFileError` naming every problem."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DrillFileError(path, [f"cannot read the file: {exc.strerror}"]) from exc

    data = _parse_yaml(path, raw)
    drill = parse_drill(path, data)
    return LoadedDrill(drill, path, hashlib.sha256(raw).hexdigest(), drill_warnings(drill))


def parse_drill(path: Path | str, data: Any) -> DrillFile:
    """Validate already-parsed YAML data; raises `DrillFileError`."""
    if not isinstance(data, dict):
        got = type(data).__name__
        raise DrillFileError(path, [f"(top level): expected a mapping of fields, got {got}"])

    try:
        drill = DrillFile.model_validate(data)
    except pydantic.ValidationError as exc:
        raise DrillFileError(path, [_describe(err) for err in _relevant(exc.errors())]) from None

    problems = check_references(drill)
    if problems:
        raise DrillFileError(path, problems)
    return drill


def drill_warnings(drill: DrillFile) -> list[str]:
    """Settings that are valid but make a measurement mean less than the operator expects."""
    warnings: list[str] = []
    for name, region in drill.regions.items():
        settings = region.clickhouse.insert_settings if region.clickhouse else {}
        if _truthy(settings.get("async_insert")) and not _truthy(
            settings.get("wait_for_async_insert", 1)
        ):
            warnings.append(
                f"regions.{name}.clickhouse.insert_settings: async_insert is on without "
                "wait_for_async_insert, so an acknowledged insert may still be lost; "
                "set wait_for_async_insert: 1"
            )
    return warnings


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


class _UniqueKeyLoader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no types
    """A YAML loader that refuses a key given twice in one mapping.

    PyYAML keeps the last of two equal keys; in a drill file that silently drops a setting
    the operator wrote, so it is an error instead.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice in this mapping",
                    key_node.start_mark,
                )
            seen.add(key)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


def _parse_yaml(path: Path, raw: bytes) -> Any:
    try:
        return yaml.load(raw, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DrillFileError(path, [f"not valid YAML: {where}{problem}"]) from None


def _describe(err: Any) -> str:
    """One pydantic error as `field.path: what was expected, got <value>`."""
    path = _field_path(err["loc"])
    kind = err["type"]
    if kind == "missing":
        return f"{path}: required field is missing"
    if kind == "extra_forbidden":
        return f"{path}: unknown field (value {err['input']!r}); check its spelling"
    if kind == "union_tag_invalid":
        expected = err.get("ctx", {}).get("expected_tags", "")
        return f"{path}.kind: unknown kind {err['input'].get('kind')!r}; expected one of {expected}"
    if kind == "union_tag_not_found":
        return f"{path}: the field 'kind' is missing"
    return f"{path}: {err['msg'].lower()}, got {err['input']!r}"


_BRANCH_PREFIXES = ("tagged-union[", "list[", "function-after[")
# A union branch refusing the value's shape (a list where a mapping was wanted, or the reverse).
_SHAPE_ERRORS = frozenset({"list_type", "dict_type", "model_type", "model_attributes_type"})


def _field_path(loc: tuple[Any, ...]) -> str:
    """('probes', 0, 'postgres.write', 'interval_ms') -> 'probes[0].interval_ms'.

    pydantic names the union branch it tried (`tagged-union[...]`, `list[...]`) and the kind
    it chose; a drill file spells neither, so both are left out.
    """
    parts: list[str] = []
    skip_tag = tag_after_index = False
    for item in loc:
        if isinstance(item, str) and item.startswith(_BRANCH_PREFIXES):
            skip_tag = item.startswith("tagged-union[")
            tag_after_index = item.startswith("list[tagged-union[")
            continue
        if skip_tag:
            skip_tag = False
            continue
        if isinstance(item, int):
            parts.append(f"[{item}]")
            skip_tag, tag_after_index = tag_after_index, False
        elif "." in str(item) and parts and parts[-1].startswith("["):
            continue  # the discriminator's tag, which the file does not spell as a key
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


def _relevant(errors: list[Any]) -> list[Any]:
    """Drop the complaint of a union branch that the value plainly was not meant for.

    `fault` is one fault or a list: a mapping fails the list branch with "not a list" beside
    its real problem, which would only confuse.
    """
    real = [e for e in errors
            if not (e["type"] in _SHAPE_ERRORS and _is_branch(e["loc"][-1]))]
    return real or errors


def _is_branch(item: Any) -> bool:
    return isinstance(item, str) and item.startswith(_BRANCH_PREFIXES)
