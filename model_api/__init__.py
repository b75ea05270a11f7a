"""Chasqui's first deployable: one quantized GGUF served over HTTP through llama-cpp-python."""
