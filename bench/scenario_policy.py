"""Load + lint of a generated manifest: 1,000 processors and 200 purposes (issue 2, Figures).

Floor: under 1 s and under 200 MB. Reports the median of several runs of each step, the peak
of Python allocations during load + lint (tracemalloc), and the process's peak resident size.
Baseline in the same run: ``yaml.safe_load`` + pydantic validation of the same file, without
line/column tracking and without the lint, so the ratio shows what locations and rules cost.
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from privacyops.policy.generate import synthetic_manifest_data
from privacyops.policy.lint import lint_manifest
from privacyops.policy.loader import load_manifest
from privacyops.policy.schema import Manifest

FLOOR_SECONDS = 1.0
FLOOR_MB = 200.0


def _median(
    fn: Callable[[], Any], runs: int, clock: Callable[[], float] = time.perf_counter
) -> float:
    times = []
    for _ in range(runs):
        started = clock()
        fn()
        times.append(clock() - started)
    return statistics.median(times)


def run(quick: bool) -> list[tuple[str, float, str]]:
    processors, purposes = (100, 20) if quick else (1000, 200)
    runs = 3 if quick else 7
    data = synthetic_manifest_data(processors=processors, purposes=purposes)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "synthetic.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        size_kb = path.stat().st_size / 1024

        def load_and_lint() -> int:
            return len(lint_manifest(load_manifest(path)))

        def baseline() -> Manifest:
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            return Manifest.model_validate(yaml.load(path.read_text("utf-8"), Loader=loader))  # noqa: S506  (a SafeLoader)

        findings = load_and_lint()  # warm-up: imports, caches
        manifest = load_manifest(path)
        t_load = _median(lambda: load_manifest(path), runs)
        t_lint = _median(lambda: lint_manifest(manifest), runs)
        t_total = _median(load_and_lint, runs)
        t_total_cpu = _median(load_and_lint, runs, time.process_time)
        t_base = _median(baseline, runs)

        tracemalloc.start()
        load_and_lint()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    # ru_maxrss is KiB on Linux, bytes on macOS
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_mb = rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024
    peak_mb = peak / (1024 * 1024)
    return [
        (f"manifest: {processors} processors, {purposes} purposes (YAML KiB)", size_kb, "KiB"),
        ("load (parse with positions + validate + references), median", t_load * 1000, "ms"),
        ("lint (all rules), median", t_lint * 1000, "ms"),
        ("load + lint, median (wall clock)", t_total * 1000, "ms"),
        ("load + lint, median (CPU time of this process)", t_total_cpu * 1000, "ms"),
        (f"  floor {FLOOR_SECONDS:.0f} s: within (1 = yes)", float(t_total < FLOOR_SECONDS), ""),
        ("baseline: yaml CSafeLoader + pydantic validate, median", t_base * 1000, "ms"),
        ("  ratio load + lint / baseline", t_total / t_base, "x"),
        ("findings on the synthetic manifest", float(findings), ""),
        ("peak Python allocations during load + lint (tracemalloc)", peak_mb, "MB"),
        (f"  floor {FLOOR_MB:.0f} MB: within (1 = yes)", float(peak_mb < FLOOR_MB), ""),
        ("peak resident size of the whole bench process", rss_mb, "MB"),
        ("machine load average over 1 min while measuring", os.getloadavg()[0], ""),
    ]
