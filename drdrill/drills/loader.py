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
        raise DrillFileError(path, [_describe(err) for err in exc.errors()]) from None

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


def _parse_yaml(path: Path, raw: bytes) -> Any:
    try:
        return yaml.safe_load(raw)
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


def _field_path(loc: tuple[Any, ...]) -> str:
    """('probes', 0, 'postgres.write', 'interval_ms') -> 'probes[0].interval_ms'."""
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif "." in str(item) and parts and parts[-1].startswith("["):
            continue  # the discriminator's tag, which the file does not spell as a key
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"
