"""Saved llama.cpp states for prompts' fixed prefixes: a small LRU, so requests that alternate
between system prompts (one plug-in's classifier, another's generator, the classifier again) do
not evaluate a system prompt from scratch each time they switch.

What is saved: the KV cache of sequence 0 right after the prompt's *fixed prefix*, i.e. the
tokens that the request's leading system message(s) render to, up to where the first user turn's
content begins (the engine finds it by rendering the system messages with an empty user turn and
taking the common token prefix with the real prompt; template-agnostic, ~0.3 ms). The
conversation after it (user turns, context, history) differs per request and would only churn the
LRU. A lookup takes the saved state with the longest common token prefix with the new prompt,
so a boundary that moves by a token (user text starting with a newline merges differently) still
restores.

Measured on this 2-core machine (bench/prefix_states.py, qwen2.5-coder-0.5b-instruct-q4_k_m,
n_ctx 2048):

- `llama_state_seq_get_data` for sequence 0 costs 12,301 bytes per cached token (K and V of 24
  layers x 2 KV heads x 64 dims in f16 = 12,288 bytes, plus cell metadata): 5.9 MB for a
  479-token system prompt. Copying it out takes 0.5-3.6 ms, writing it back 0.4-2 ms, against
  2.6 s to evaluate those tokens. The whole-context `llama_state_get_size` is the same plus one
  byte (no logits kept), but llama-cpp-python's `Llama.save_state()` also copies its `scores`
  rows, n_tokens x 151,936 float32 (291 MB for those 479 tokens), which this engine never
  reads; hence the sequence calls.
- Alternating two ~470-token system prompts A, B, A, B: from the first switch back, 13-19 tokens
  evaluated and 103-162 ms to the first token, against 453-485 tokens and 2.0-3.1 s without.
- Bit-identity: a restored state gives exactly the logits of evaluating the same tokens, *if* the
  span evaluated afterwards has the same length modulo 4 as without the cache (ROW_ALIGNMENT
  below); otherwise the final logits differed by up to 0.4, enough to flip a greedy token.

The bound is a number of states (MODEL_API_PREFIX_STATES, default 8; 0 disables): memory is
about states x prefix tokens x bytes per token (8 x 600 x 12.3 KB = 59 MB on the default model;
qwen2.5-3b, 36 layers x 2 x 128 dims: ~36 KB per token, computed).

Counters: a hit is a request that restored a saved state; a miss one that evaluated its fixed
prefix and saved it (a partial restore, another system prompt sharing the start, can be both).
Requests whose prefix is still in the live KV cache are neither.
"""
from __future__ import annotations

import ctypes
from collections import OrderedDict
from dataclasses import dataclass
from typing import Iterator, Sequence

import llama_cpp
import numpy as np

# Shorter fixed prefixes are not saved: a state slot is worth more on a real system prompt.
MIN_PREFIX_TOKENS = 32
SEQUENCE = 0  # the engine's only sequence
# On this CPU, llama.cpp's kernels for the default model's Q4_K weights round a batch's last
# `n mod 4` rows differently from the others (it behaves like rows computed in groups of 4 plus
# leftovers; measured, not read in the source): where a prompt's evaluation starts changes its
# logits (by up to 0.4 on the final logits) unless the evaluated span keeps its length modulo 4.
# Restores and saves keep it (SmolLM2's Q4_1 showed no effect at all).
ROW_ALIGNMENT = 4
# The first part of a split evaluation must be a whole batch of groups, not a short batch (a
# 4-row first batch also changed the logits).
MIN_SPLIT_TOKENS = 8


def aligned_start(restorable: int, reused: int) -> int:
    """Where to resume after restoring a saved state covering `restorable` tokens, when plain
    prefix reuse would resume at `reused`: the last position <= restorable at which the rest of
    the prompt is evaluated with the same rows-modulo-4 layout."""
    return restorable - (restorable - reused) % ROW_ALIGNMENT


def aligned_end(reused: int, fixed_prefix: int) -> int | None:
    """Where to pause evaluating a prompt (from `reused`) to save its fixed prefix, keeping the
    layout of an uninterrupted evaluation; None when too little of the prefix is left to evaluate."""
    end = reused + (fixed_prefix - reused) // ROW_ALIGNMENT * ROW_ALIGNMENT
    return end if end - reused >= MIN_SPLIT_TOKENS else None


def common_prefix_length(a: Sequence[int] | np.ndarray, b: Sequence[int] | np.ndarray) -> int:
    a, b = np.asarray(a, dtype=np.int32), np.asarray(b, dtype=np.int32)
    n = min(len(a), len(b))
    differ = np.flatnonzero(a[:n] != b[:n])
    return int(differ[0]) if differ.size else n


@dataclass
class SavedPrefix:
    tokens: np.ndarray  # int32, the prefix this state holds, positions 0..len-1
    state: ctypes.Array  # llama_state_seq_get_data's bytes, kept as the ctypes buffer set_data takes

    @property
    def n_bytes(self) -> int:
        return ctypes.sizeof(self.state) + self.tokens.nbytes


def copy_sequence_state(ctx) -> ctypes.Array:
    """The KV cache of the engine's sequence, as llama.cpp serializes it."""
    size = llama_cpp.llama_state_seq_get_size(ctx, SEQUENCE)
    buffer = (ctypes.c_uint8 * size)()
    written = llama_cpp.llama_state_seq_get_data(ctx, buffer, size, SEQUENCE)
    if written != size:
        raise RuntimeError(f"llama_state_seq_get_data wrote {written} of {size} bytes")
    return buffer


def write_sequence_state(ctx, state: ctypes.Array) -> bool:
    """Replace the sequence's KV cache with a saved one; False if llama.cpp refused it."""
    llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(ctx), SEQUENCE, -1, -1)
    return llama_cpp.llama_state_seq_set_data(ctx, state, ctypes.sizeof(state), SEQUENCE) == ctypes.sizeof(state)


class PrefixStateCache:
    """At most `capacity` saved prefixes, least recently used evicted first. Used only by the
    model worker thread; the counters are read by /metrics."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._entries: OrderedDict[bytes, SavedPrefix] = OrderedDict()
        self.hits = 0  # a saved state was restored instead of evaluating its tokens
        self.misses = 0  # a fixed prefix neither in the live KV cache nor saved: evaluated, then saved
        self.restored_tokens = 0
        self.evictions = 0

    @property
    def enabled(self) -> bool:
        return self.capacity > 0

    def __len__(self) -> int:
        return len(self._entries)

    def bytes_held(self) -> int:
        return sum(entry.n_bytes for entry in self._entries.values())

    def best_match(self, tokens: Sequence[int]) -> tuple[SavedPrefix | None, int]:
        """The saved prefix sharing the most leading tokens with `tokens`, and how many."""
        best, best_common = None, 0
        prompt = np.asarray(tokens, dtype=np.int32)
        for entry in self._entries.values():
            common = common_prefix_length(entry.tokens, prompt)
            if common > best_common:
                best, best_common = entry, common
        return best, best_common

    def touch(self, entry: SavedPrefix) -> None:
        self._entries.move_to_end(entry.tokens.tobytes())

    def discard(self, entry: SavedPrefix) -> None:
        self._entries.pop(entry.tokens.tobytes(), None)

    def put(self, tokens: Sequence[int], state: ctypes.Array) -> None:
        entry = SavedPrefix(np.array(tokens, dtype=np.int32), state)
        key = entry.tokens.tobytes()
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
            self.evictions += 1


class PrefixStateCollector:
    """Prometheus view of a PrefixStateCache (registered on the model API's registry)."""

    def __init__(self, cache: PrefixStateCache):
        self._cache = cache

    def collect(self) -> Iterator:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        c = self._cache
        yield CounterMetricFamily("chasqui_model_prefix_state_hits",
                                  "Requests whose fixed prompt prefix was restored from a saved state", value=c.hits)
        yield CounterMetricFamily("chasqui_model_prefix_state_misses",
                                  "Requests whose fixed prompt prefix had to be evaluated (then saved)", value=c.misses)
        yield CounterMetricFamily("chasqui_model_prefix_state_restored_tokens",
                                  "Prompt tokens restored from saved states instead of evaluated", value=c.restored_tokens)
        yield CounterMetricFamily("chasqui_model_prefix_state_evictions",
                                  "Saved prefix states dropped to stay within MODEL_API_PREFIX_STATES",
                                  value=c.evictions)
        yield GaugeMetricFamily("chasqui_model_prefix_states", "Saved prefix states held", value=len(c))
        yield GaugeMetricFamily("chasqui_model_prefix_state_bytes", "Memory held by saved prefix states",
                                value=c.bytes_held())
        yield GaugeMetricFamily("chasqui_model_prefix_state_capacity", "MODEL_API_PREFIX_STATES", value=c.capacity)
