"""Open questions, the model's one generative job: how many get the model's words, and how many
the apology instead, and why (the answer cut at its token budget, said back, or no answer).

Starts the real model API (a catalog GGUF, the default one unless --model) and the real backend
(agro and running, the loopback Open-Meteo) as bench/conversation_latency.py does, onboards a
producer and a runner, then asks each its open questions one at a time (written as people write:
lowercase, no accents, regional words, misspellings). For each it prints the reply's source and
time; at the end, the count by source and the backend's model calls by outcome (/metrics:
`bad_answer` is an answer cut at max_tokens or off the schema).

    .venv/bin/python bench/open_answers.py [--model NAME] [--repo PATH]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.conversation_latency import (DEFAULT_MODEL, REPO, TOKEN, Conversation, checkout_label,  # noqa: E402
                                        fmt, start_services)
from bench.conversation_scripts import PRODUCER, RUNNER  # noqa: E402
from tests.agro.fake_open_meteo import FakeOpenMeteo  # noqa: E402
from tests.servers import metric_sum  # noqa: E402

QUESTIONS = (
    (PRODUCER, [
        "como protejo mi chacra de la helada", "que abono le echo al maiz", "cada cuanto deshierbo",
        "es bueno sembrar frejol junto al maiz", "que hago con los rastrojos despues de cosechar",
        "como se si mi suelo es acido", "conviene rotar con papa el otro año", "q es el compost y como lo hago",
        "las gallinas pueden andar en el maizal", "como guardo la semilla para la proxima campaña",
        "sirve el guano de isla pa la chacra", "por que se tumban las plantas con el viento",
        "como atraigo abejas a mi parcela", "que cultivo me recomiendas para el invierno",
    ]),
    (RUNNER, [
        "que como antes de una carrera larga", "cada cuanto cambio las zapatillas", "es malo correr en ayunas",
        "como respiro cuando corro", "sirve hacer pesas para correr mejor", "que hago si me da flato",
        "cuanta agua tomo en una carrera de 2 horas", "es mejor correr en la mañana o en la noche",
        "como estiro despues de correr", "duermo poco, afecta mi rendimiento?",
        "q zapatillas me recomiendas pa asfalto", "como corro en subida sin cansarme tanto",
        "puedo correr con gripe", "que desayuno antes de la carrera del domingo",
    ]),
)
OPEN_SOURCES = ("model", "apology", "knowledge", "cache", "secondary")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=str(REPO), help="checkout whose services are measured (this .venv runs them)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="catalog model the model API serves")
    parser.add_argument("--threads", type=int, default=2, help="MODEL_N_THREADS")
    parser.add_argument("--n-ctx", type=int, default=4096, help="MODEL_N_CTX")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="chasqui-open-answers-bench-"))
    print(f"services from {checkout_label(Path(args.repo).resolve())}, model {args.model}; logs in {directory}",
          flush=True)
    weather = FakeOpenMeteo()
    weather.align_to = datetime.now(ZoneInfo("America/Lima")).date()
    results, lock, asked = [], threading.Lock(), []
    model = backend = None
    try:
        model, backend = start_services(directory, args, weather)
        for number, (persona, questions) in enumerate(QUESTIONS, start=1):
            conversation = Conversation(backend.url, model.url, "open", persona, f"+5199200{number:04d}", results,
                                        lock, count_tokens=False, deadline=time.monotonic() + 3600, echo=False)
            if not conversation.onboard():
                raise SystemExit(f"{persona.name}: onboarding did not end")
            for question in questions:
                result = conversation.say(question, "open")
                asked.append(result)
                print(f"{persona.name:8} {fmt(result.seconds):>8}  {result.source:10} > {question}\n"
                      f"{'':20}< {(result.error or result.reply).replace(chr(10), ' ')[:150]}", flush=True)
        outcomes = {outcome: int(metric_sum(backend.url, "chasqui_model_calls_total", TOKEN, outcome=outcome))
                    for outcome in ("ok", "bad_answer", "failed", "busy")}
    finally:
        for service in (backend, model):
            if service is not None:
                service.stop()
        weather.stop()
    sources = Counter(result.source for result in asked)
    opened = [result for result in asked if result.source in OPEN_SOURCES]
    words = sum(result.source in ("model", "secondary", "cache") for result in opened)
    print(f"\n{len(asked)} questions; replies by source: {dict(sources.most_common())}")
    if opened:
        print(f"open answers: {words}/{len(opened)} the model's words ({100 * words / len(opened):.0f} %), "
              f"{sources['apology']} apologies")
    print(f"model calls by outcome (backend /metrics): {outcomes}")
    shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
