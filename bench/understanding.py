"""Intent and slot accuracy on the labelled set (tests/understanding/data/labelled.jsonl), for
the matcher alone and, with --model, for matcher + classification call on a real model API.

    .venv/bin/python bench/understanding.py            # matcher alone, both parts
    .venv/bin/python bench/understanding.py --model    # + the default GGUF classifying what the matcher is unsure of
    .venv/bin/python bench/understanding.py --errors   # list what the development part gets wrong
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.plugins.registry import load_plugins  # noqa: E402
from backend.understanding.understand import Understanding  # noqa: E402
from tests.understanding.labelled import ANYONE, Score, cases, load, score_matcher  # noqa: E402


def with_model(understanding, plugins, rows, ask_model) -> tuple[Score, list[float]]:
    score, times = Score(), []
    for domain, row in cases(rows):
        reading = understanding.read(row["text"], domain)
        detected = plugins[domain].detect(reading, ANYONE)
        placed = understanding.place(reading, plugins[domain], None, ask_model, detected)
        score.add(row, reading.intent, plugins[domain].read_slots(reading, row["intent"]))
        if reading.via == "model":
            times.append(placed.classify_s)
    return score, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="store_true", help="also run matcher + classification call")
    parser.add_argument("--errors", action="store_true", help="print the development part's mistakes")
    args = parser.parse_args()
    plugins = load_plugins(("agro", "running"))
    started = time.perf_counter()
    understanding = Understanding(plugins)
    print(f"matcher built in {1000 * (time.perf_counter() - started):.0f} ms")
    for split in ("dev", "test"):
        rows = load(split)
        started = time.perf_counter()
        everything, confident = score_matcher(understanding, plugins, rows)
        per_message_ms = 1000 * (time.perf_counter() - started) / everything.intents
        print(f"{split}: {len(rows)} utterances, {everything.intents} cases | matcher alone: intent "
              f"{everything.intent_accuracy:.1%}, slots {everything.slot_accuracy:.1%} ({everything.slots}) | "
              f"confident on {confident.intents / everything.intents:.0%} with intent accuracy "
              f"{confident.intent_accuracy:.1%} | {per_message_ms:.2f} ms a message (read + slots + match)")
        if args.errors and split == "dev":
            for (want, got, text), _ in sorted(everything.confusions.items()):
                print(f"   {want:>20} -> {got:<20} {text}")
            for name, want, got, text in everything.slot_misses:
                print(f"   slot {name}: {want!r} -> {got!r}   {text}")
    if args.model:
        from model_api.catalog import DEFAULT_MODEL
        from backend.agent.model_client import client_for
        from tests.servers import start_model_api
        service = start_model_api(Path(tempfile.mkdtemp()), DEFAULT_MODEL)
        try:
            client = client_for(service.url)

            def ask(system, context, schema, max_tokens):
                return client.ask(system, context, schema, max_tokens=max_tokens)[0]
            for split in ("dev", "test"):
                score, times = with_model(understanding, plugins, load(split), ask)
                p50 = statistics.median(times) if times else 0.0
                p95 = sorted(times)[int(0.95 * (len(times) - 1))] if times else 0.0
                print(f"{split}: matcher + model: intent {score.intent_accuracy:.1%}, slots {score.slot_accuracy:.1%}"
                      f" | {len(times)} classification calls, p50 {p50:.2f} s, p95 {p95:.2f} s")
        finally:
            service.stop()


if __name__ == "__main__":
    main()
