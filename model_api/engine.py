"""One llama.cpp context: load a GGUF, format chats with the model's own template, evaluate
prompts reusing the cached prefix, and generate tokens with deadlines and optional grammar.

Not thread-safe by design: a llama.cpp context serves one request at a time, so only the
request queue's worker thread calls generate().
"""
from __future__ import annotations

import codecs
import contextlib
import ctypes
import io
import logging
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import llama_cpp
from llama_cpp import Llama, llama_chat_format

from model_api.grammar_sampler import GrammarSampler, SamplingParams
from model_api.prefix_states import (MIN_PREFIX_TOKENS, PrefixStateCache, aligned_end, aligned_start,
                                     common_prefix_length, copy_sequence_state, write_sequence_state)
from model_api.settings import ModelApiSettings

log = logging.getLogger(__name__)


class ContextTooLong(ValueError):
    def __init__(self, prompt_tokens: int, max_tokens: int, n_ctx: int):
        super().__init__(
            f"the prompt has {prompt_tokens} tokens and asks for up to {max_tokens} more, "
            f"but the model's context window is {n_ctx} tokens"
        )
        self.prompt_tokens, self.max_tokens, self.n_ctx = prompt_tokens, max_tokens, n_ctx


@dataclass
class GenerationRequest:
    messages: list[dict]
    max_tokens: int
    sampling: SamplingParams = field(default_factory=SamplingParams)
    gbnf: str | None = None
    stop: list[str] = field(default_factory=list)
    ignore_eos: bool = False
    prompt: list[int] | None = None  # the messages already rendered and tokenized, when known


@dataclass
class GenerationResult:
    text: str
    finish_reason: str  # "stop" or "length"
    prompt_tokens: int
    cached_prompt_tokens: int
    completion_tokens: int
    prompt_ms: float
    generation_ms: float
    full_vocabulary_passes: int
    restored_prompt_tokens: int = 0  # of cached_prompt_tokens, those restored from a saved prefix state

    @property
    def prompt_tokens_per_second(self) -> float:
        evaluated = self.prompt_tokens - self.cached_prompt_tokens
        return evaluated / (self.prompt_ms / 1000) if self.prompt_ms > 0 else 0.0

    @property
    def generation_tokens_per_second(self) -> float:
        return self.completion_tokens / (self.generation_ms / 1000) if self.generation_ms > 0 else 0.0


GGML_LOG_LEVEL_ERROR = 4


@llama_cpp.llama_log_callback
def _llama_log(level: int, text: bytes, user_data) -> None:
    """llama.cpp's own log, errors only, to stderr."""
    if level == GGML_LOG_LEVEL_ERROR:
        sys.stderr.write(text.decode("utf-8", errors="replace"))


class Engine:
    def __init__(self, settings: ModelApiSettings):
        self.settings = settings
        self.llm: Llama | None = None
        self._formatter = None
        self.prefix_states = PrefixStateCache(settings.prefix_states)

    def load(self) -> None:
        s = self.settings
        started = time.perf_counter()
        # verbose=False would point the whole process's stdout and stderr (the file descriptors) at
        # /dev/null while the model loads, swallowing what other threads print meanwhile (`chasqui
        # up` loads it in the background). Instead: llama.cpp's log filtered by _llama_log, and
        # llama-cpp-python's metadata dump caught in a buffer.
        llama_cpp.llama_log_set(_llama_log, ctypes.c_void_p(0))
        with contextlib.redirect_stderr(io.StringIO()):
            self.llm = self._open_model(s)
        self.llm.verbose = False  # no per-request timing prints
        self._formatter = self._chat_formatter(self.llm)
        log.info("model loaded", extra={"model": s.model_name, "seconds": round(time.perf_counter() - started, 2),
                                        "n_ctx": s.n_ctx, "n_threads": s.n_threads})

    @staticmethod
    def _open_model(s: ModelApiSettings) -> Llama:
        return Llama(
            model_path=str(s.model_path),
            n_ctx=s.n_ctx,
            n_threads=s.n_threads,
            n_threads_batch=s.n_threads,
            n_gpu_layers=s.n_gpu_layers,
            n_batch=s.n_batch,
            verbose=True,
        )

    @staticmethod
    def _chat_formatter(llm: Llama):
        """The chat template stored in the GGUF, rendered the way llama-cpp-python renders it."""
        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            return llama_chat_format.get_chat_completion_handler("chatml")  # pragma: no cover - all catalog models carry one
        eos_id, bos_id = llm.token_eos(), llm.token_bos()
        return llama_chat_format.Jinja2ChatFormatter(
            template=template,
            eos_token=llm._model.token_get_text(eos_id) if eos_id != -1 else "",
            bos_token=llm._model.token_get_text(bos_id) if bos_id != -1 else "",
            stop_token_ids=[eos_id],
        )

    # -- prompts -----------------------------------------------------------------------------
    def prompt_tokens(self, messages: list[dict]) -> list[int]:
        prompt = self._formatter(messages=messages).prompt
        # The template writes BOS itself where the model wants one; special=True parses its markers.
        return self.llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)

    def fixed_prefix_length(self, messages: list[dict], tokens: list[int]) -> int:
        """How many leading tokens of the prompt come from its leading system message(s): the
        part shared by every request with the same system prompt (see prefix_states.py)."""
        leading = 0
        while leading < len(messages) and messages[leading].get("role") == "system":
            leading += 1
        if leading == 0:
            return 0
        system_only = self.prompt_tokens(messages[:leading] + [{"role": "user", "content": ""}])
        return min(common_prefix_length(system_only, tokens), len(tokens) - 1)

    def _evaluate_prompt(self, tokens: list[int], check: Callable[[], None],
                         fixed_prefix: int = 0) -> tuple[int, int]:
        """Evaluate only what neither the live KV cache nor a saved prefix state already holds;
        return (tokens reused, of which restored from a saved state). When the prompt's fixed
        prefix (`fixed_prefix` tokens) is evaluated here, its state is saved for later requests.

        Restoring and saving keep the evaluated span's length, modulo ROW_ALIGNMENT, equal to what
        plain prefix reuse would evaluate, so the answer is bit for bit the one the engine gives
        with the cache off (see prefix_states.py)."""
        llm, states = self.llm, self.prefix_states
        # the last token is always evaluated: we need its logits
        reused = min(common_prefix_length(llm._input_ids, tokens), len(tokens) - 1)
        if reused <= 0 or not llm._ctx.kv_cache_seq_rm(-1, reused, -1):
            llm.reset()
            reused = 0
        restored = 0
        if states.enabled:
            saved, common = states.best_match(tokens)
            start = aligned_start(min(common, len(tokens) - 1), reused)
            if saved is not None and start > reused:
                if write_sequence_state(llm._ctx.ctx, saved.state) and llm._ctx.kv_cache_seq_rm(-1, start, -1):
                    llm.input_ids[:start] = saved.tokens[:start]
                    restored = reused = start
                    states.hits += 1
                    states.restored_tokens += restored
                else:  # pragma: no cover - llama.cpp refused its own state
                    log.warning("saved prefix state could not be restored; dropped")
                    states.discard(saved)
                    llm.reset()
                    reused = 0
            if saved is not None and common == len(saved.tokens):
                states.touch(saved)  # in use, restored or through the live KV cache: keep it
        llm.n_tokens = reused
        save_at = aligned_end(reused, fixed_prefix) if states.enabled and fixed_prefix >= MIN_PREFIX_TOKENS else None
        if save_at is not None:
            states.misses += 1
            self._evaluate(tokens[reused:save_at], check)
            states.put(tokens[:save_at], copy_sequence_state(llm._ctx.ctx))
            self._evaluate(tokens[save_at:], check)
        else:
            self._evaluate(tokens[reused:], check)
        return reused, restored

    def _evaluate(self, tokens: list[int], check: Callable[[], None]) -> None:
        llm = self.llm
        for start in range(0, len(tokens), llm.n_batch):
            check()
            llm.eval(tokens[start:start + llm.n_batch])

    # -- generation ----------------------------------------------------------------------------
    def generate(
        self,
        request: GenerationRequest,
        on_text: Callable[[str], None] | None = None,
        check: Callable[[], None] = lambda: None,
    ) -> GenerationResult:
        """Run one request. `check` raises JobStopped (request_queue.py) when time is up or the client left."""
        llm = self.llm
        tokens = request.prompt or self.prompt_tokens(request.messages)
        if len(tokens) + request.max_tokens > llm.n_ctx():
            raise ContextTooLong(len(tokens), request.max_tokens, llm.n_ctx())
        fixed_prefix = self.fixed_prefix_length(request.messages, tokens) if self.prefix_states.enabled else 0

        sampler = GrammarSampler(llm, request.sampling, request.gbnf)
        vocab = llama_cpp.llama_model_get_vocab(llm._model.model)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        stop_holdback = max((len(s) for s in request.stop), default=1) - 1
        text, emitted, finish_reason, completion = "", 0, "length", 0
        try:
            started = time.perf_counter()
            cached, restored = self._evaluate_prompt(tokens, check, fixed_prefix)
            prompt_done = time.perf_counter()
            while completion < request.max_tokens:
                check()
                token = sampler.sample()
                if llama_cpp.llama_vocab_is_eog(vocab, token) and not request.ignore_eos:
                    finish_reason = "stop"
                    break
                completion += 1
                text += decoder.decode(llm._model.detokenize([token], special=False))
                stop_at = _first_stop(text, request.stop)
                if stop_at is not None:
                    text, finish_reason = text[:stop_at], "stop"
                    break
                if on_text is not None and len(text) - stop_holdback > emitted:
                    on_text(text[emitted:len(text) - stop_holdback])
                    emitted = len(text) - stop_holdback
                if completion < request.max_tokens:
                    llm.eval([token])
            text += decoder.decode(b"", final=True)
            if on_text is not None and len(text) > emitted:
                on_text(text[emitted:])
            finished = time.perf_counter()
        finally:
            passes = sampler.full_vocabulary_passes
            sampler.close()
        return GenerationResult(
            text=text,
            finish_reason=finish_reason,
            prompt_tokens=len(tokens),
            cached_prompt_tokens=cached,
            completion_tokens=completion,
            prompt_ms=(prompt_done - started) * 1000,
            generation_ms=(finished - prompt_done) * 1000,
            full_vocabulary_passes=passes,
            restored_prompt_tokens=restored,
        )


def _first_stop(text: str, stops: list[str]) -> int | None:
    positions = [text.find(s) for s in stops if s and s in text]
    return min(positions) if positions else None
