"""Loading manifests from YAML: one file is one version; a folder holds the versions of a book.

The embedded default is the seed policy shipped in ``privacyops/policy/seed/``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from privacyops.errors import ManifestInvalid
from privacyops.policy.schema import Manifest, PolicyBook
from privacyops.settings import Settings

SEED_DIR = Path(__file__).parent / "seed"
MAX_MANIFEST_BYTES = 5_000_000


def load_manifest(path: Path) -> Manifest:
    """Load and validate one manifest file.

    Raises:
        ManifestInvalid: the file is missing, too large, not YAML, or not a valid manifest.
    """
    path = Path(path)
    if path.is_dir():
        raise ManifestInvalid(f"{path}: is a directory, expected a manifest file")
    if not path.is_file():
        raise ManifestInvalid(f"{path}: no such file")
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise ManifestInvalid(f"{path}: larger than {MAX_MANIFEST_BYTES} bytes")
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ManifestInvalid(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ManifestInvalid(f"{path}: expected a mapping at the top level")
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        details = [
            {"loc": [str(p) for p in e["loc"]], "msg": e["msg"], "file": str(path)}
            for e in exc.errors()
        ]
        raise ManifestInvalid(f"{path}: not a valid manifest", details=details) from None


def load_policy_book(path: Path) -> PolicyBook:
    """Load a folder of version files (``*.yaml``), or one file as a one-version book."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in {".yaml", ".yml"})
        if not files:
            raise ManifestInvalid(f"{path}: no *.yaml manifest files in this folder")
        versions = sorted((load_manifest(f) for f in files), key=lambda m: m.version.order)
    else:
        versions = [load_manifest(path)]
    try:
        return PolicyBook(versions=versions)
    except ValidationError as exc:
        raise ManifestInvalid(
            f"{path}: versions do not form a policy book",
            details=[{"loc": [str(p) for p in e["loc"]], "msg": e["msg"]} for e in exc.errors()],
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
