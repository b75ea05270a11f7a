"""Fetching an inbound voice note from the WhatsApp Cloud API, by Meta's media flow.

`GET /{version}/{media-id}` with the bearer token answers the media's metadata and a download URL
that lasts five minutes: {"messaging_product": "whatsapp", "url", "mime_type", "sha256" (hex),
"file_size", "id"}. `GET <url>` with the same bearer token answers the bytes. Both steps run on
every try, since the URL of an earlier try may have expired. The stated size and type are checked
before downloading, the download stops past the limit, and the sha256 is checked after.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import time
from urllib.parse import quote, urlsplit

import requests

from whatsapp_bridge.media import (AudioFile, MediaUnavailable, base_type, check_audio_type, check_size,
                                   read_limited)

TIMEOUT_S = 15.0  # the metadata call, and each wait for a piece of the download
DOWNLOAD_S = 120.0  # the whole download: a trickle must not hold a worker for ever
CHUNK = 64 * 1024


class CloudMedia:
    def __init__(self, base_url: str, version: str, access_token: str, max_bytes: int):
        self.base_url = base_url.rstrip("/")
        self.version, self.max_bytes = version, max_bytes
        self._headers = {"Authorization": f"Bearer {access_token}"}
        self._session = requests.Session()

    def fetch_audio(self, media_id: str | None, mime_type: str | None = None) -> AudioFile:
        if not isinstance(media_id, str) or not media_id.strip():
            raise MediaUnavailable("the webhook named no media id", retryable=False)
        info = self._metadata(media_id)
        stated = info.get("mime_type") if isinstance(info.get("mime_type"), str) else None
        # The webhook's type often carries the codec ("audio/ogg; codecs=opus"): kept when it agrees.
        mime = mime_type if mime_type and (stated is None or base_type(stated) == base_type(mime_type)) else stated
        check_audio_type(mime)
        size = _whole_number(info.get("file_size"))
        if size is not None:
            check_size(size, self.max_bytes)
        data = self._download(info.get("url"))
        if isinstance(info.get("sha256"), str) and not _hash_matches(data, info["sha256"]):
            raise MediaUnavailable(f"media {media_id}: the download does not match its sha256", retryable=True)
        return AudioFile(data, mime)

    def _metadata(self, media_id: str) -> dict:
        url = f"{self.base_url}/{self.version}/{quote(media_id, safe='')}"
        try:
            response = self._session.get(url, headers=self._headers, timeout=TIMEOUT_S)
        except requests.RequestException as problem:
            raise MediaUnavailable(f"Graph API unreachable: {type(problem).__name__}", retryable=True) from None
        if response.status_code != 200:
            raise _failure(f"media {media_id}", response)
        try:
            info = response.json()
        except ValueError:
            info = None
        if not isinstance(info, dict) or not isinstance(info.get("url"), str):
            raise MediaUnavailable(f"media {media_id}: Graph API answered without a download URL", retryable=True)
        return info

    def _download(self, url: str) -> bytes:
        if not self._may_send_token_to(url):
            raise MediaUnavailable(f"the download URL {url[:100]!r} is neither https nor the Graph API's own host",
                                   retryable=False)
        deadline = time.monotonic() + DOWNLOAD_S
        try:
            with self._session.get(url, headers=self._headers, timeout=TIMEOUT_S, stream=True) as response:
                if response.status_code != 200:  # an expired URL (404) too: the next try gets a fresh one
                    raise _failure("the media download", response, always_retryable=True)
                size = _whole_number(response.headers.get("Content-Length"))
                if size is not None:
                    check_size(size, self.max_bytes)
                return read_limited(_until(deadline, response.iter_content(CHUNK)), self.max_bytes)
        except requests.RequestException as problem:
            raise MediaUnavailable(f"the media download failed: {type(problem).__name__}", retryable=True) from None

    def _may_send_token_to(self, url: str) -> bool:
        """The access token goes over https (Meta's lookaside.fbsbx.com), or to the host the Graph
        API itself is configured at (a local stand-in), never in clear text elsewhere."""
        parts, graph = urlsplit(url), urlsplit(self.base_url)
        same_host = (parts.scheme, parts.netloc) == (graph.scheme, graph.netloc)
        return (parts.scheme == "https" and bool(parts.hostname)) or same_host


def _until(deadline: float, chunks):
    for chunk in chunks:
        if time.monotonic() > deadline:
            raise MediaUnavailable(f"the media download took longer than {DOWNLOAD_S:g} s", retryable=True)
        yield chunk


def _failure(what: str, response: requests.Response, always_retryable: bool = False) -> MediaUnavailable:
    """Graph's 429, 5xx and token errors may pass (a token is fixed by the operator); any other
    4xx for a media id (unknown, deleted after 30 days) never will."""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    detail = error.get("message", "") if isinstance(error, dict) else ""
    status = response.status_code
    retryable = always_retryable or status in (401, 403, 408, 429) or status >= 500
    hint = " (check WHATSAPP_ACCESS_TOKEN)" if status in (401, 403) else ""
    return MediaUnavailable(f"{what}: Graph API HTTP {status}{hint} {str(detail)[:200]}".strip(), retryable=retryable)


def _whole_number(value) -> int | None:
    """Graph gives file_size as a number or as a string of digits."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value)
    return None


def _hash_matches(data: bytes, stated: str) -> bool:
    """The media's sha256 as Graph states it: hex (the media endpoint) or base64 (webhooks)."""
    digest, stated = hashlib.sha256(data).digest(), stated.strip()
    if len(stated) == 64:
        try:
            return bytes.fromhex(stated) == digest
        except ValueError:
            pass
    try:
        return base64.b64decode(stated, validate=True) == digest
    except (binascii.Error, ValueError):
        return False
