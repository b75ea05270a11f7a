"""Token sampling with an optional GBNF grammar, checked the way llama.cpp's own server does it.

llama-cpp-python puts the grammar inside the sampler chain, so every step matches all ~151k
vocabulary entries against the grammar (about 7 tokens/s on a 0.5B Qwen with two threads).
Here the chain samples first without the grammar; only the chosen token is checked. Only when
the grammar rejects it is the whole vocabulary filtered and the token sampled again. Most tokens
a model picks inside a JSON skeleton are valid, so the expensive path is rare.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass

import llama_cpp
import numpy as np
from llama_cpp._internals import LlamaSampler

_TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])


class GrammarError(ValueError):
    """The grammar (or the JSON schema it came from) cannot be compiled."""


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.3
    top_k: int = 40
    top_p: float = 0.95
    min_p: float = 0.05
    repeat_penalty: float = 1.0
    repeat_last_n: int = 64
    seed: int = 0xFFFFFFFF  # LLAMA_DEFAULT_SEED: random


class GrammarSampler:
    """One request's sampler: the plain chain plus, when constrained, a grammar checked lazily."""

    def __init__(self, llm: llama_cpp.Llama, params: SamplingParams, gbnf: str | None):
        self._ctx = llm._ctx.ctx
        self._n_vocab = llm.n_vocab()
        self._chain = self._build_chain(params)
        self._grammar = None
        if gbnf is not None:
            vocab = llama_cpp.llama_model_get_vocab(llm._model.model)
            self._grammar = llama_cpp.llama_sampler_init_grammar(vocab, gbnf.encode(), b"root")
            if not self._grammar:
                raise GrammarError("the grammar could not be parsed")
        self._candidates = (llama_cpp.llama_token_data * self._n_vocab)()
        self._candidate_view = np.frombuffer(self._candidates, dtype=_TOKEN_DATA)
        self._ids = np.arange(self._n_vocab, dtype=np.int32)
        self._single = (llama_cpp.llama_token_data * 1)()
        self.full_vocabulary_passes = 0  # how often the grammar had to filter every token

    def _build_chain(self, params: SamplingParams) -> LlamaSampler:
        chain = LlamaSampler()
        if params.repeat_penalty != 1.0:
            chain.add_penalties(self._n_vocab, params.repeat_last_n, params.repeat_penalty, 0.0, 0.0)
        if params.temperature <= 0:
            chain.add_greedy()
        else:
            chain.add_top_k(params.top_k)
            chain.add_top_p(params.top_p, 1)
            chain.add_min_p(params.min_p, 1)
            chain.add_temp(params.temperature)
            chain.add_dist(params.seed)
        return chain

    def _fresh_candidates(self) -> llama_cpp.llama_token_data_array:
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self._ctx, -1), shape=(self._n_vocab,))
        view = self._candidate_view
        view["id"] = self._ids
        view["logit"] = logits
        view["p"] = 0.0
        return llama_cpp.llama_token_data_array(
            data=ctypes.cast(self._candidates, llama_cpp.llama_token_data_p),
            size=self._n_vocab, selected=-1, sorted=False,
        )

    def _apply(self, sampler, candidates) -> None:
        llama_cpp.llama_sampler_apply(sampler, ctypes.byref(candidates))

    def _grammar_accepts(self, token: int) -> bool:
        single = self._single
        single[0].id, single[0].logit, single[0].p = token, 0.0, 0.0
        one = llama_cpp.llama_token_data_array(
            data=ctypes.cast(single, llama_cpp.llama_token_data_p), size=1, selected=-1, sorted=False
        )
        self._apply(self._grammar, one)
        return single[0].logit != float("-inf")

    def sample(self) -> int:
        """Pick the next token from the logits of the last evaluated position, and record it."""
        candidates = self._fresh_candidates()
        self._apply(self._chain.sampler, candidates)
        token = candidates.data[candidates.selected].id
        if self._grammar is not None and not self._grammar_accepts(token):
            self.full_vocabulary_passes += 1
            candidates = self._fresh_candidates()
            self._apply(self._grammar, candidates)
            self._apply(self._chain.sampler, candidates)
            token = candidates.data[candidates.selected].id
        llama_cpp.llama_sampler_accept(self._chain.sampler, token)
        if self._grammar is not None:
            llama_cpp.llama_sampler_accept(self._grammar, token)
        return token

    def close(self) -> None:
        if self._grammar is not None:
            llama_cpp.llama_sampler_free(self._grammar)
            self._grammar = None
        self._chain.close()
