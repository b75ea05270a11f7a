"""Saved prefix states (model_api/prefix_states.py): requests alternating between two system
prompts, A, B, A, B…, against a model API with MODEL_API_PREFIX_STATES on and off.

Prints, per request: prompt tokens, tokens evaluated (prompt - cached) and time to the first
streamed token; then the memory a saved state takes (from /metrics and the process's RSS) and,
in-process, how long saving and restoring a state take and what llama-cpp-python's
Llama.save_state() would hold instead. No pass/fail.

    .venv/bin/python bench/prefix_states.py [--model NAME] [--rounds 3] [--states 8]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from model_api.catalog import DEFAULT_MODEL  # noqa: E402
from model_api.warm_up import default_system_prompt  # noqa: E402
from tests.servers import start_model_api  # noqa: E402

# A: a plug-in's intent classifier; B: another plug-in's answer generator (~300-600 tokens each,
# like the backend's).
CLASSIFIER = " ".join([
    "Eres el clasificador de intenciones del asistente de entrenamiento de Chasqui. Lee el mensaje de",
    "la persona y decide qué quiere. Las intenciones posibles son: registrar_carrera (cuenta una carrera",
    "o un entrenamiento que ya hizo, con distancia, tiempo o ritmo), pedir_plan (quiere saber qué",
    "entrenar hoy, esta semana o para una carrera), consultar_progreso (pregunta cómo va, cuánto corrió,",
    "si mejoró), lesion (cuenta un dolor, una molestia o una lesión), saludo (solo saluda o agradece),",
    "importar (quiere subir datos de su reloj) y otro (cualquier otra cosa). Si el mensaje mezcla varias,",
    "elige la más urgente: una lesión va antes que todo lo demás, y un registro antes que un plan. No",
    "inventes datos que el mensaje no dice. Responde solo con un objeto JSON con la clave intencion y, si",
    "corresponde, las claves distancia_km, minutos y ritmo_min_km como números, y fecha como texto",
    "AAAA-MM-DD si la persona la dice. Ejemplos: 'corrí 10 km en 55 minutos' es registrar_carrera con",
    "distancia_km 10 y minutos 55; 'hoy hice 5 km a 6:10' es registrar_carrera con distancia_km 5 y",
    "ritmo_min_km 6.17; '¿qué hago mañana?' es pedir_plan; 'quiero correr los 21k de Cusco en junio' es",
    "pedir_plan; '¿cuánto corrí este mes?' es consultar_progreso; '¿estoy mejorando?' es",
    "consultar_progreso; 'me duele la rodilla cuando bajo' es lesion; 'tengo una ampolla' es lesion;",
    "'hola, buenos días' es saludo; 'gracias, coach' es saludo; 'te paso mi archivo de Garmin' es",
    "importar; '¿va a llover?' es otro. Si no entiendes el mensaje, responde otro; nunca dejes la clave",
    "intencion vacía. Los números van sin unidades y con punto decimal.",
])
GENERATOR = " ".join([
    default_system_prompt(),
    "Eres además el asesor de riego y sanidad de Chasqui para productores de la sierra. Usa solo los",
    "hechos que te da el sistema: el cultivo, el lote, el suelo, la lámina de riego recomendada en",
    "milímetros, el pronóstico de lluvia y las alertas de plagas cercanas. Si falta un dato, dilo y pide",
    "solo ese dato. Nunca recomiendes agroquímicos por su marca; nombra el principio activo y recuerda",
    "leer la etiqueta y usar equipo de protección. Cuando des una recomendación de riego, di cuándo regar,",
    "cuánto tiempo y por qué, en ese orden, y convierte los milímetros a horas de riego por surco si el",
    "sistema te da el caudal. Si hay una alerta de plaga a menos de diez kilómetros, menciónala primero y",
    "di qué revisar en el campo: hojas, cogollo, envés. Termina con una pregunta corta solo si necesitas",
    "algo de la persona. No saludes dos veces en la misma conversación.",
])
QUESTIONS = {
    "A": ["corrí 8 km en 45 minutos", "¿qué entreno mañana?", "me duele el tobillo", "hola coach",
          "¿cuánto corrí esta semana?", "quiero hacer los 10k de Lima"],
    "B": ["¿Cuándo riego mi maíz del lote 1?", "vi gusano cogollero en el lote 2", "¿lloverá esta semana?",
          "¿cuánto tiempo riego la papa?", "tengo hojas amarillas en el haba", "¿riego hoy o mañana?"],
}


def streamed(url: str, system: str, question: str, max_tokens: int) -> dict:
    started = time.perf_counter()
    first, usage = None, None
    with requests.post(f"{url}/v1/chat/completions", stream=True, timeout=600, json={
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": question}],
        "max_tokens": max_tokens, "temperature": 0, "seed": 1, "ignore_eos": True, "stream": True,
        "stream_options": {"include_usage": True},
    }) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith(b"data: ") or line == b"data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                usage = chunk["usage"]
            elif first is None and chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                first = time.perf_counter()
    cached = usage["prompt_tokens_details"]["cached_tokens"]
    return {"prompt": usage["prompt_tokens"], "evaluated": usage["prompt_tokens"] - cached,
            "ttft_ms": ((first or time.perf_counter()) - started) * 1000}


def metrics(url: str) -> dict[str, float]:
    samples = {}
    for line in requests.get(f"{url}/metrics", timeout=10).text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def alternation(model: str, states: int, rounds: int, max_tokens: int) -> tuple[list[dict], dict, float]:
    with TemporaryDirectory() as tmp:
        api = start_model_api(Path(tmp), model, MODEL_API_PREFIX_STATES=str(states))
        try:
            runs = []
            for i in range(rounds):
                for name, system in (("A", CLASSIFIER), ("B", GENERATOR)):
                    run = streamed(api.url, system, QUESTIONS[name][i % len(QUESTIONS[name])], max_tokens)
                    runs.append({"prefix": name, **run})
            return runs, metrics(api.url), rss_mb(api.process.pid)
        finally:
            api.stop()


def in_process_costs(model: str) -> None:
    """Save/restore time of one state and what Llama.save_state() would hold, at each prompt's size."""
    import os

    import llama_cpp

    os.environ["CHASQUI_MODEL"] = model
    from model_api.engine import Engine
    from model_api.prefix_states import copy_sequence_state, write_sequence_state
    from model_api.settings import load_settings

    engine = Engine(load_settings().with_overrides(n_ctx=2048, prefix_states=0))
    engine.load()
    llm = engine.llm
    for name, system in (("A", CLASSIFIER), ("B", GENERATOR)):
        messages = [{"role": "system", "content": system}, {"role": "user", "content": "hola"}]
        tokens = engine.prompt_tokens(messages)
        prefix = engine.fixed_prefix_length(messages, tokens)
        llm.reset()
        started = time.perf_counter()
        llm.eval(tokens[:prefix])
        eval_ms = (time.perf_counter() - started) * 1000
        copies, writes = [], []
        for _ in range(5):
            started = time.perf_counter()
            state = copy_sequence_state(llm._ctx.ctx)
            copies.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            assert write_sequence_state(llm._ctx.ctx, state)
            writes.append((time.perf_counter() - started) * 1000)
        # what Llama.save_state() would copy, computed rather than allocated: the whole context's
        # state plus its scores rows (n_tokens x n_vocab float32, at most scores.shape[0] rows)
        context_state = llama_cpp.llama_state_get_size(llm._ctx.ctx)
        scores = min(llm.n_tokens, llm.scores.shape[0]) * llm.scores.shape[1] * llm.scores.itemsize
        print(f"  {name}: {prefix} prefix tokens, evaluated in {eval_ms:.0f} ms; sequence state {len(state) / 1e6:.2f} MB "
              f"({len(state) / prefix:,.0f} B/token), saved in {statistics.median(copies):.1f} ms, restored in "
              f"{statistics.median(writes):.1f} ms; Llama.save_state() would hold {context_state / 1e6:.2f} MB of "
              f"context state + {scores / 1e6:.0f} MB of scores")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--rounds", type=int, default=3, help="A,B pairs")
    parser.add_argument("--states", type=int, default=8, help="MODEL_API_PREFIX_STATES when on")
    parser.add_argument("--max-tokens", type=int, default=8)
    args = parser.parse_args()

    on, on_metrics, on_rss = alternation(args.model, args.states, args.rounds, args.max_tokens)
    off, _, off_rss = alternation(args.model, 0, args.rounds, args.max_tokens)
    print(f"\n{args.model}: A,B alternation, {args.max_tokens} tokens per answer, streamed\n")
    print(f"{'#':>2} {'prefix':>6} {'prompt':>6} | {'evaluated on':>12} {'TTFT on':>9} | {'evaluated off':>13} {'TTFT off':>9}")
    for i, (a, b) in enumerate(zip(on, off), 1):
        print(f"{i:>2} {a['prefix']:>6} {a['prompt']:>6} | {a['evaluated']:>12} {a['ttft_ms']:>7.0f}ms |"
              f" {b['evaluated']:>13} {b['ttft_ms']:>7.0f}ms")
    later_on, later_off = on[2:], off[2:]  # from the first switch back on
    print(f"\nfrom request 3 on, mean: cache on {statistics.mean(r['evaluated'] for r in later_on):.0f} tokens "
          f"evaluated, TTFT {statistics.mean(r['ttft_ms'] for r in later_on):.0f} ms; cache off "
          f"{statistics.mean(r['evaluated'] for r in later_off):.0f} tokens, "
          f"{statistics.mean(r['ttft_ms'] for r in later_off):.0f} ms")
    held, count = on_metrics["chasqui_model_prefix_state_bytes"], on_metrics["chasqui_model_prefix_states"]
    print(f"saved states: {count:.0f} (warm-up's included), {held / 1e6:.1f} MB, "
          f"{held / count / 1e6:.2f} MB each on average; hits {on_metrics['chasqui_model_prefix_state_hits_total']:.0f}, "
          f"misses {on_metrics['chasqui_model_prefix_state_misses_total']:.0f}")
    print(f"model API RSS after the run: {on_rss:.0f} MB with the cache, {off_rss:.0f} MB without")
    print("\nin-process:")
    in_process_costs(args.model)


if __name__ == "__main__":
    main()
