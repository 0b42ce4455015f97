"""Print the README "Settings" table from ``privacyops.settings.Settings`` (one row a field).

python scripts/settings_table.py     # paste over the table in README.md
"""

from __future__ import annotations

import sys
from pathlib import Path

from privacyops.settings import Settings


def _default(name: str) -> str:
    field = Settings.model_fields[name]
    value = field.default_factory() if field.default_factory is not None else field.default  # type: ignore[call-arg]
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, Path):
        return f"`{value}`"
    if isinstance(value, list):
        return "`" + ",".join(str(v) for v in value) + "`"
    return f"`{value}`"


def table() -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        meaning = (field.description or "").replace("|", "\\|")
        rows.append(f"| `PRIVACYOPS_{name.upper()}` | {_default(name)} | {meaning} |")
    return "\n".join(rows)


def write(readme: Path) -> None:
    """Replace the table under "## Settings" in ``readme``."""
    text = readme.read_text(encoding="utf-8")
    start = text.index("| variable | default | meaning |", text.index("## Settings\n"))
    lines = text[start:].split("\n")
    end = next(
        i
        for i, line in enumerate(lines)
        if not line.startswith(("|", "<<<<<<<", "=======", ">>>>>>>"))
    )
    readme.write_text(text[:start] + table() + "\n" + "\n".join(lines[end:]), encoding="utf-8")


if __name__ == "__main__":
    if "--write" in sys.argv:
        write(Path(__file__).resolve().parents[1] / "README.md")
    else:
        print(table())
