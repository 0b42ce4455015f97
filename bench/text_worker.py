"""Run one detector over a JSON-lines corpus in its own process (one core): ``ours`` is
privacyops.text, ``presidio`` is Presidio + spaCy (run with the Presidio venv's python).

Usage: python text_worker.py {ours|presidio} CORPUS.jsonl OUT.json [SPACY_MODEL]
Writes {"seconds": scan time, "max_rss_mb": peak memory, "spans": [[[start, end, label], ...]]}.
"""

from __future__ import annotations

import json
import resource
import sys
import time

LABELS = [
    "EMAIL_ADDRESS", "URL", "IBAN_CODE", "CREDIT_CARD", "IP_ADDRESS", "PHONE_NUMBER",
    "LOCATION", "ORGANIZATION", "PERSON",
]  # fmt: skip


def main() -> None:
    kind, corpus, out = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(corpus, encoding="utf-8") as handle:
        texts = [json.loads(line)["text"] for line in handle]
    if kind == "ours":
        from privacyops.text import scan

        def run(text: str) -> list[list[object]]:
            return [[s.start, s.end, s.label] for s in scan(text)]

    else:
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import NlpEngineProvider

        model = sys.argv[4]
        provider = NlpEngineProvider(
            nlp_configuration={
                "nlp_engine_name": "spacy",
                "models": [{"lang_code": "en", "model_name": model}],
            }
        )
        engine = AnalyzerEngine(nlp_engine=provider.create_engine())

        def run(text: str) -> list[list[object]]:
            found = engine.analyze(text=text, language="en", entities=LABELS)
            return [[r.start, r.end, r.entity_type] for r in found]

        run("warm up: Ann Smith, ann@example.com")
    started = time.process_time()
    spans = [run(t) for t in texts]
    seconds = time.process_time() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open(out, "w", encoding="utf-8") as handle:
        json.dump({"seconds": seconds, "max_rss_mb": rss, "spans": spans}, handle)


if __name__ == "__main__":
    main()
