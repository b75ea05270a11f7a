"""Warm-up: evaluate the usual system prompt once at start, so the first real request finds its
prefix already in the KV cache and only pays for the part that differs."""
from __future__ import annotations

import logging
import time
from pathlib import Path

from model_api.engine import Engine, GenerationRequest
from model_api.grammar_sampler import SamplingParams

log = logging.getLogger(__name__)

PROMPTS_DIR = Path(__file__).resolve().parents[1] / "data" / "prompts"
WARM_UP_SYSTEM_PROMPT = PROMPTS_DIR / "system_es.txt"


def default_system_prompt() -> str:
    return WARM_UP_SYSTEM_PROMPT.read_text(encoding="utf-8").strip()


def warm_up(engine: Engine) -> None:
    started = time.perf_counter()
    engine.generate(GenerationRequest(
        messages=[{"role": "system", "content": default_system_prompt()}, {"role": "user", "content": "Hola"}],
        max_tokens=1,
        sampling=SamplingParams(temperature=0.0),
    ))
    log.info("warm-up done", extra={"seconds": round(time.perf_counter() - started, 2)})
