"""Print (or write into README.md) the "HTTP endpoints" table: every route of the app, who may
call it, and the first line of its docstring.

    python scripts/routes_table.py           # print it
    python scripts/routes_table.py --write   # replace the table under "## HTTP endpoints"
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from privacyops.settings import Settings
from privacyops.web.app import create_app
from privacyops.web.auth import RequireCaller, RequireScope, RequireStaff

HEADER = "| method | path | who | what |"


def _guards(dependant: Any) -> list[str]:
    found: list[str] = []
    for sub in getattr(dependant, "dependencies", []):
        if isinstance(sub.call, RequireStaff):
            found.append("staff: " + (", ".join(sub.call.roles) or "any role"))
        elif isinstance(sub.call, RequireCaller):
            found.append("any staff session or API token")
        elif isinstance(sub.call, RequireScope):
            found.append(f"scope `{sub.call.scope}`")
        found.extend(_guards(sub))
    return found


def rows() -> list[tuple[str, str, str, str]]:
    app = create_app(Settings(data_dir=Path("/nonexistent-never-opened")))
    out = []
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        items = list(contexts()) if contexts is not None else [route]
        for ctx in items:
            path = getattr(ctx, "path", None)
            if path is None or path in ("/docs/oauth2-redirect",):
                continue
            methods = sorted(set(getattr(ctx, "methods", None) or {"GET"}) - {"HEAD"})
            endpoint = getattr(ctx, "endpoint", None)
            doc = (getattr(endpoint, "__doc__", None) or "").strip().splitlines()
            what = doc[0] if doc else ""
            guards = _guards(getattr(ctx, "dependant", None))
            who = "; ".join(dict.fromkeys(guards)) or "public"
            out.extend((m, path, who, what.replace("|", "\\|")) for m in methods)
    return out


def table() -> str:
    lines = [HEADER, "|---|---|---|---|"]
    lines += [f"| {m} | `{p}` | {w} | {d} |" for m, p, w, d in rows()]
    return "\n".join(lines)


def write(readme: Path) -> None:
    text = readme.read_text(encoding="utf-8")
    start = text.index(HEADER, text.index("## HTTP endpoints\n"))
    lines = text[start:].split("\n")
    end = next(i for i, line in enumerate(lines) if not line.startswith("|"))
    readme.write_text(text[:start] + table() + "\n" + "\n".join(lines[end:]), encoding="utf-8")


if __name__ == "__main__":
    if "--write" in sys.argv:
        write(Path(__file__).resolve().parents[1] / "README.md")
    else:
        print(table())
