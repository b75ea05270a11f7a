"""`chasqui model download` against a local fake of the Hugging Face hub (the real one is out of
reach here). The fake serves a file and, like the hub, its sha256 as X-Linked-Etag on HEAD."""
import hashlib
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from model_api.catalog import QWEN_3B
from model_api.model_files import (ModelFileError, download_from_hub, expected_sha256, sidecar_checksum_path,
                                   verify_model_file)

PAYLOAD = b"GGUF" + bytes(range(256)) * 4096  # about 1 MB that starts like a GGUF file


class FakeHub(BaseHTTPRequestHandler):
    advertised_sha256 = hashlib.sha256(PAYLOAD).hexdigest()

    def _headers(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD)))
        if self.advertised_sha256:
            self.send_header("X-Linked-Etag", f'"{self.advertised_sha256}"')
        self.end_headers()

    def do_HEAD(self):
        self._headers()

    def do_GET(self):
        self._headers()
        self.wfile.write(PAYLOAD)

    def log_message(self, *args):
        pass


@pytest.fixture
def hub():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeHub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    FakeHub.advertised_sha256 = hashlib.sha256(PAYLOAD).hexdigest()


def model_at(hub):
    return replace(QWEN_3B, hub_url=f"http://127.0.0.1:{hub.server_port}/qwen.gguf")


def test_download_is_verified_and_its_checksum_kept_for_later_starts(hub, tmp_path):
    path = download_from_hub(model_at(hub), tmp_path)
    assert path.read_bytes() == PAYLOAD
    recorded = expected_sha256(path, pinned=None)
    assert recorded == hashlib.sha256(PAYLOAD).hexdigest()
    verify_model_file(path, recorded)  # what the service does before loading
    path.write_bytes(PAYLOAD[:-1] + b"x")  # altered after download: the kept checksum catches it
    with pytest.raises(ModelFileError, match="corrupt"):
        verify_model_file(path, expected_sha256(path, pinned=None))


def test_download_with_a_wrong_checksum_keeps_nothing(hub, tmp_path):
    FakeHub.advertised_sha256 = "0" * 64
    with pytest.raises(ModelFileError, match="expected 0000"):
        download_from_hub(model_at(hub), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_operator_pinned_checksum_wins_over_the_hub(hub, tmp_path):
    with pytest.raises(ModelFileError, match="expected " + "a" * 64):
        download_from_hub(model_at(hub), tmp_path, sha256="a" * 64)
    assert not sidecar_checksum_path(tmp_path / QWEN_3B.file_name).exists()


def test_no_checksum_anywhere_refuses_to_download(hub, tmp_path):
    FakeHub.advertised_sha256 = ""
    with pytest.raises(ModelFileError, match="no checksum known"):
        download_from_hub(model_at(hub), tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("pinned", [None, "b" * 64])
def test_unreachable_hub_is_a_clear_error(tmp_path, pinned):
    unreachable = replace(QWEN_3B, hub_url="http://127.0.0.1:9/qwen.gguf")  # port 9: nothing listens
    with pytest.raises(ModelFileError, match="could not (download|reach the hub)"):
        download_from_hub(unreachable, tmp_path, sha256=pinned)
    assert list(tmp_path.iterdir()) == []
