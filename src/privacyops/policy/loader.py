"""Loading manifests from YAML: one file is one version; a folder holds the versions of a book.

The embedded default is the seed policy shipped in ``privacyops/policy/seed/``.

Every problem is reported once, with its place: ``file:line:column: path: message``. A file
that cannot be a manifest (missing, a folder, empty, over the size cap, not UTF-8, not YAML, a
duplicate key) is one :class:`~privacyops.errors.ManifestInvalid`; a manifest that parses but
breaks the schema or refers to something undeclared gets one ``details`` item per problem.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from privacyops.errors import ManifestInvalid
from privacyops.policy.schema import Manifest, PolicyBook
from privacyops.settings import Settings
from privacyops.yamlfile import Loc, Position, SourceMap, YamlProblem, dotted, parse_yaml

__all__ = [
    "MAX_MANIFEST_BYTES",
    "SEED_DIR",
    "default_policy_book",
    "dump_manifest",
    "load_configured_policy",
    "load_manifest",
    "load_policy_book",
    "loads_manifest",
    "source_map",
]

SEED_DIR = Path(__file__).parent / "seed"
MAX_MANIFEST_BYTES = 5_000_000


def source_map(manifest: Manifest) -> SourceMap | None:
    """Where ``manifest`` was read from, when it was loaded from a file."""
    found = manifest._source
    return found if isinstance(found, SourceMap) else None


def _detail(file: str, position: Position | None, loc: Loc, msg: str) -> dict[str, Any]:
    where = f"{file}:{position}" if position else file
    if loc:
        where += f": {dotted(loc)}"
    item: dict[str, Any] = {"file": file, "loc": list(loc), "msg": msg, "where": where}
    if position:
        item["line"], item["column"] = position.line, position.column
    return item


def _one(file: str, position: Position | None, msg: str) -> ManifestInvalid:
    """A file-level problem: the message itself carries the location."""
    where = f"{file}:{position}" if position else file
    return ManifestInvalid(f"{where}: {msg}", details=[_detail(file, position, (), msg)])


def _pydantic_msg(error: Any) -> str:
    kind = error["type"]
    loc = error["loc"]
    name = loc[-1] if loc else ""
    if kind == "extra_forbidden":
        return f"unknown field '{name}'"
    if kind == "missing":
        return f"missing required field '{name}'"
    msg = str(error["msg"])
    # pydantic prefixes messages of ValueErrors raised in validators
    return msg.removeprefix("Value error, ")


def _schema_details(exc: ValidationError, smap: SourceMap) -> list[dict[str, Any]]:
    details = []
    seen: set[tuple[Loc, str]] = set()
    for error in exc.errors(include_url=False):
        # Only real keys and indices; pydantic adds names of union members/validators.
        loc: Loc = tuple(p for p in error["loc"] if isinstance(p, (int, str)))
        msg = _pydantic_msg(error)
        if (loc, msg) in seen:
            continue
        seen.add((loc, msg))
        position = smap.locate(loc, key=error["type"] == "extra_forbidden")
        details.append(_detail(smap.file, position, loc, msg))
    return details


def _read(path: Path) -> str:
    if path.is_dir():
        raise _one(str(path), None, "is a directory, expected a manifest file")
    if not path.is_file():
        raise _one(str(path), None, "no such file")
    size = path.stat().st_size
    if size > MAX_MANIFEST_BYTES:  # refused before reading a byte of it
        raise _one(
            str(path), None, f"{size:,} bytes, over the {MAX_MANIFEST_BYTES:,}-byte manifest limit"
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _one(str(path), None, f"cannot be read ({exc.strerror})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _one(str(path), Position(line, column), "not UTF-8 text") from None


def load_manifest(path: Path) -> Manifest:
    """Load and validate one manifest file.

    Raises:
        ManifestInvalid: the file is missing, too large, not YAML, or not a valid manifest;
            ``details`` has one item per problem with ``file``, ``line`` and ``column``.
    """
    path = Path(path)
    return loads_manifest(_read(path), str(path))


def loads_manifest(text: str, file: str = "<string>") -> Manifest:
    """Load and validate a manifest from YAML text; ``file`` names it in messages.

    Raises:
        ManifestInvalid: as :func:`load_manifest`.
    """
    if not text.strip():
        raise _one(file, None, "is empty, expected a manifest (a YAML mapping)")
    try:
        data, smap = parse_yaml(text, file)
    except YamlProblem as exc:
        raise _one(file, exc.position, f"not valid YAML: {exc.message}") from None
    if not isinstance(data, dict):
        found = "nothing" if data is None else type(data).__name__
        raise _one(file, Position(1, 1), f"expected a mapping at the top level, found {found}")
    try:
        manifest = Manifest.model_validate(data, context={"defer_reference_check": True})
    except ValidationError as exc:
        details = _schema_details(exc, smap)
        raise ManifestInvalid(_summary(file, details), details=details) from None
    problems = manifest.reference_problems()
    if problems:
        details = [_detail(file, smap.locate(p.loc), p.loc, p.msg) for p in problems]
        raise ManifestInvalid(_summary(file, details), details=details)
    manifest._source = smap
    return manifest


class _Dumper(yaml.SafeDumper):
    """PyYAML, but strings holding a Unicode line break (NEL, LS, PS) are double-quoted:
    plain or single-quoted, PyYAML writes them raw and reads them back as spaces."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if any(ch in value for ch in "\x85\u2028\u2029"):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    return dumper.represent_str(value)


_Dumper.add_representer(str, _represent_str)


def dump_manifest(manifest: Manifest) -> str:
    """The manifest as YAML, fields in schema order, defaults left out.

    ``loads_manifest(dump_manifest(m)) == m`` for every valid manifest (a Hypothesis test
    checks it).
    """
    data = manifest.model_dump(mode="json", exclude_defaults=True)
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def _summary(file: str, details: list[dict[str, Any]]) -> str:
    n = len(details)
    if n == 1:
        return f"{details[0]['where']}: {details[0]['msg']}"
    return f"{file}: not a valid manifest ({n} problem{'s' if n != 1 else ''})"


def load_policy_book(path: Path) -> PolicyBook:
    """Load a folder of version files (``*.yaml``), or one file as a one-version book.

    Every file of a folder is read; the problems of all of them are reported together.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in {".yaml", ".yml"} and p.is_file())
        if not files:
            raise _one(str(path), None, "no *.yaml manifest files in this folder")
        versions: list[Manifest] = []
        details: list[dict[str, Any]] = []
        for f in files:
            try:
                versions.append(load_manifest(f))
            except ManifestInvalid as exc:
                details.extend(exc.details)
        if details:
            if len(details) == 1:
                raise ManifestInvalid(
                    f"{details[0]['where']}: {details[0]['msg']}", details=details
                )
            raise ManifestInvalid(
                f"{path}: {len(details)} problems in its manifests", details=details
            )
        versions.sort(key=lambda m: m.version.order)
    else:
        versions = [load_manifest(path)]
    try:
        return PolicyBook(versions=versions)
    except ValidationError as exc:
        details = []
        for e in exc.errors(include_url=False):
            details.append(_detail(str(path), None, (), _pydantic_msg(e)))
        raise ManifestInvalid(
            f"{path}: the versions do not form a policy book: {details[0]['msg']}",
            details=details,
        ) from None


@lru_cache(maxsize=1)
def default_policy_book() -> PolicyBook:
    """The embedded seed policy (all its versions), loaded once."""
    return load_policy_book(SEED_DIR)


def load_configured_policy(settings: Settings) -> PolicyBook:
    """The policy book the settings name, or the embedded default."""
    if settings.policy_path is None:
        return default_policy_book()
    return load_policy_book(settings.policy_path)
