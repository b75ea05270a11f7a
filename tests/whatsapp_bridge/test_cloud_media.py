"""Fetching a voice note from the Cloud API by Meta's media flow, against the fake Graph API (which
checks the token on both steps and states the media as Graph does): what is fetched, what is
refused for good (too big, not audio, unknown) and what is worth another try (5xx, slow, a
download that does not match its sha256, a wrong token)."""
from __future__ import annotations

import hashlib
import os

import pytest

from whatsapp_bridge.media import MediaUnavailable
from whatsapp_bridge.transports import cloud_media
from whatsapp_bridge.transports.cloud_media import CloudMedia

NOTE = b"OggS\x00\x02" + os.urandom(40_000)  # the fetch never decodes: any bytes do
LIMIT = 64 * 1024


def fetcher(graph, token: str | None = None, limit: int = LIMIT) -> CloudMedia:
    return CloudMedia(graph.base_url, graph.version, token or graph.access_token, limit)


def refusal(call) -> MediaUnavailable:
    with pytest.raises(MediaUnavailable) as raised:
        call()
    return raised.value


def test_a_voice_note_is_fetched_with_the_token_on_both_steps(graph):
    media_id = graph.add_received_media(NOTE, "audio/ogg")
    audio = fetcher(graph).fetch_audio(media_id, "audio/ogg; codecs=opus")
    assert audio.data == NOTE
    assert audio.mime_type == "audio/ogg; codecs=opus"  # the webhook's fuller type, as it agrees with Graph's
    assert graph.media_lookups == [media_id] and graph.downloads_of(media_id) == 1
    assert graph.rejected == []


def test_a_wrong_token_is_worth_another_try_once_the_operator_fixes_it(graph):
    media_id = graph.add_received_media(NOTE)
    problem = refusal(lambda: fetcher(graph, token="not-the-token").fetch_audio(media_id))
    assert problem.retryable and "WHATSAPP_ACCESS_TOKEN" in str(problem)


def test_an_unknown_media_id_is_refused_for_good(graph):
    problem = refusal(lambda: fetcher(graph).fetch_audio("1234567890123456", "audio/ogg"))
    assert not problem.retryable and "HTTP 400" in str(problem)
    assert not refusal(lambda: fetcher(graph).fetch_audio("", "audio/ogg")).retryable


def test_audio_too_big_is_refused_before_or_while_downloading(graph):
    big = graph.add_received_media(NOTE + b"x" * LIMIT)
    problem = refusal(lambda: fetcher(graph).fetch_audio(big))
    assert (problem.retryable, problem.code) == (False, "too_large")
    assert graph.downloads_of(big) == 0  # the stated size was enough
    lying = graph.add_received_media(NOTE + b"x" * LIMIT, file_size="1000")  # Graph states it as a string too
    problem = refusal(lambda: fetcher(graph).fetch_audio(lying))
    assert (problem.retryable, problem.code) == (False, "too_large")


def test_media_that_is_not_audio_is_refused_without_downloading(graph):
    picture = graph.add_received_media(b"\xff\xd8\xff" + NOTE, "image/jpeg")
    problem = refusal(lambda: fetcher(graph).fetch_audio(picture, "audio/ogg"))
    assert (problem.retryable, problem.code) == (False, "not_audio")
    assert graph.downloads_of(picture) == 0
    ogg = graph.add_received_media(NOTE, "application/ogg")  # OGG by its container's type is audio
    assert fetcher(graph).fetch_audio(ogg).mime_type == "application/ogg"


def test_a_download_that_does_not_match_its_sha256_is_tried_again(graph):
    media_id = graph.add_received_media(NOTE, sha256=hashlib.sha256(b"other bytes").hexdigest())
    problem = refusal(lambda: fetcher(graph).fetch_audio(media_id))
    assert problem.retryable and "sha256" in str(problem)


def test_server_errors_are_worth_another_try_and_the_next_one_works(graph):
    media_id = graph.add_received_media(NOTE)
    media = fetcher(graph)
    graph.fail_next(500, on="media")
    assert refusal(lambda: media.fetch_audio(media_id)).retryable
    graph.fail_next(503, on="download")
    assert refusal(lambda: media.fetch_audio(media_id)).retryable
    assert media.fetch_audio(media_id).data == NOTE
    assert graph.downloads_of(media_id) == 1
    assert graph.media_lookups == [media_id] * 2  # a fresh URL for each try Graph answered


def test_a_slow_graph_is_worth_another_try(graph, monkeypatch):
    monkeypatch.setattr(cloud_media, "TIMEOUT_S", 0.3)
    media_id = graph.add_received_media(NOTE)
    graph.delay_next(1.0, on="media")
    assert refusal(lambda: fetcher(graph).fetch_audio(media_id)).retryable
    graph.delay_next(1.0, on="download")
    assert refusal(lambda: fetcher(graph).fetch_audio(media_id)).retryable


def test_the_token_is_never_sent_in_clear_text_to_another_host(graph):
    media = fetcher(graph)
    assert media._may_send_token_to("https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1")
    assert media._may_send_token_to(f"{graph.base_url}/whatsapp_business/attachments/?mid=1")  # Graph's own host
    assert not media._may_send_token_to("http://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1")
    assert not media._may_send_token_to("http://127.0.0.1:9/attachments/")
    assert not media._may_send_token_to("file:///etc/passwd")
