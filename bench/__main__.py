"""Run benchmark scenarios: ``python -m bench [NAME ...] [--quick]``."""

from __future__ import annotations

import argparse
import importlib
import sys
import time

# name -> module; each module has run(quick: bool) -> list[tuple[str, float, str]]
SCENARIOS: dict[str, str] = {
    "audit": "bench.scenario_audit",
    "registry": "bench.scenario_registry",
    "retention": "bench.scenario_retention",
    "connectors": "bench.scenario_connectors",
    "policy": "bench.scenario_policy",
    "consent": "bench.scenario_consent",
    "intake": "bench.scenario_intake",
    "rights": "bench.scenario_rights",
    "ratelimit": "bench.scenario_ratelimit",
    "service": "bench.scenario_service",
    "startup": "bench.scenario_startup",
    "load": "bench.scenario_load",
    "e2e": "bench.scenario_e2e",
    "pdf": "bench.scenario_pdf",
    "text": "bench.scenario_text",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help="scenarios to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args(argv)
    names = args.names or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    for name in names:
        module = importlib.import_module(SCENARIOS[name])
        started = time.perf_counter()
        print(f"== {name}", flush=True)
        for label, value, unit in module.run(args.quick):
            print(f"  {label:<60} {value:>14,.3f} {unit}", flush=True)
        print(f"  (scenario took {time.perf_counter() - started:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
