"""Uploaded audio bytes -> 16 kHz mono float32 samples, what Whisper takes, with a bound on length.

faster_whisper.audio.decode_audio decodes the whole file before anyone can look at its length, so
a 3-hour recording (a few MB of Opus) would become 700 MB of samples. Here decoding stops as soon
as the decoded audio passes the limit. The failures are told apart, because the client can fix
each differently: nothing in it (EmptyAudio), not a kind of audio we read (UnsupportedAudio),
damaged (InvalidAudio), longer than allowed (AudioTooLong).

PyAV bundles FFmpeg's libraries, so no ffmpeg binary is needed. Only the demuxers of audio
people send over WhatsApp are allowed (FFmpeg's format_whitelist): a playlist or image format
is refused before FFmpeg parses it.
"""
from __future__ import annotations

import io
import time
from dataclasses import dataclass

import av
import numpy as np

SAMPLE_RATE = 16000
# Ogg (WhatsApp's voice notes: Opus), MP4/M4A/3GP (AAC, iPhone), AMR, MP3, WAV, WebM/Matroska, FLAC, ADTS AAC.
ALLOWED_DEMUXERS = "ogg,mov,amr,mp3,wav,matroska,flac,aac"
# How each allowed container starts: a file that starts like one but cannot be read is damaged,
# one that starts like none of them is not audio we take.
MAGIC = ((0, b"OggS"), (4, b"ftyp"), (0, b"#!AMR"), (0, b"ID3"), (0, b"RIFF"), (0, b"\x1a\x45\xdf\xa3"),
         (0, b"fLaC"))
# A few unreadable packets are noise a listener would not notice (FFmpeg skips them, and so
# does faster-whisper); more than this share of the packets is a damaged file.
MAX_BAD_PACKET_SHARE = 0.1


class AudioError(ValueError):
    """The upload cannot be transcribed; the message says why, for the client."""


class EmptyAudio(AudioError):
    pass


class UnsupportedAudio(AudioError):
    pass


class InvalidAudio(AudioError):
    pass


class AudioTooLong(AudioError):
    def __init__(self, max_seconds: float):
        super().__init__(f"the audio is longer than the limit of {max_seconds:g} seconds (SPEECH_MAX_SECONDS)")
        self.max_seconds = max_seconds


@dataclass
class DecodedAudio:
    samples: np.ndarray  # float32, mono, SAMPLE_RATE
    container: str
    codec: str
    decode_ms: float

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def _looks_like_audio(data: bytes) -> bool:
    if any(data[at:at + len(magic)] == magic for at, magic in MAGIC):
        return True
    return len(data) >= 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0  # MPEG audio / ADTS frame sync


def _ogg_cut_at(data: bytes) -> int | None:
    """Where the Ogg page structure breaks, or None when whole pages fill the file. FFmpeg reads a
    cut-off Ogg file without complaint (a voice note half uploaded would be half transcribed)."""
    position = 0
    while position < len(data):
        header = data[position:position + 27]
        if len(header) < 27 or header[:4] != b"OggS":
            return position
        segments = header[26]
        table = data[position + 27:position + 27 + segments]
        end = position + 27 + segments + sum(table)
        if len(table) < segments or end > len(data):
            return position
        position = end
    return None


def _open(data: bytes):
    try:
        return av.open(io.BytesIO(data), options={"format_whitelist": ALLOWED_DEMUXERS}, metadata_errors="ignore")
    except (av.FFmpegError, EOFError, ValueError, OSError) as problem:
        if _looks_like_audio(data):
            raise InvalidAudio(f"the audio file is damaged or cut short ({_reason(problem)})") from None
        raise UnsupportedAudio("the file is not audio in a supported format (Ogg/Opus, M4A/AAC, AMR, MP3, WAV, "
                               "WebM, FLAC)") from None


def _reason(problem: Exception) -> str:
    return getattr(problem, "strerror", None) or type(problem).__name__


class _Mono16k:
    """Resamples frames to 16 kHz mono float32, rebuilding the resampler if the input's format
    changes mid-stream (an MP3 may switch sample rates; PyAV's resampler refuses that)."""

    def __init__(self):
        self._resampler = None
        self._layout = None
        self.chunks: list[np.ndarray] = []
        self.samples = 0

    def add(self, frame) -> None:
        """May raise av.FFmpegError or ValueError (a frame it cannot take): the caller counts it."""
        layout = (frame.format.name, frame.layout.name, frame.sample_rate)
        if layout != self._layout:
            previous, self._layout = self._resampler, layout
            self._resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            if previous is not None:
                self._keep(previous.resample(None))  # its last samples, before the new frame's
        frame.pts = None  # FFmpeg's timestamps need not be continuous; the samples are
        self._keep(self._resampler.resample(frame))

    def flush(self) -> None:
        if self._resampler is not None:
            self._keep(self._resampler.resample(None))

    def _keep(self, frames) -> None:
        for out in frames:
            array = out.to_ndarray().reshape(-1)
            self.chunks.append(array)
            self.samples += len(array)

    def result(self) -> np.ndarray:
        return np.concatenate(self.chunks).astype(np.float32, copy=False) if self.chunks else np.zeros(0, np.float32)


def decode_audio(data: bytes, max_seconds: float) -> DecodedAudio:
    """Raises EmptyAudio, UnsupportedAudio, InvalidAudio or AudioTooLong."""
    started = time.perf_counter()
    if not data:
        raise EmptyAudio("the file is empty (0 bytes)")
    limit = int(max_seconds * SAMPLE_RATE)
    with _open(data) as container:
        stream = next((s for s in container.streams if s.type == "audio"), None)
        if stream is None:
            raise UnsupportedAudio(f"the file ({container.format.name}) has no audio stream")
        if stream.codec_context is None:  # a codec FFmpeg has no decoder for (or a damaged codec id)
            raise UnsupportedAudio(f"the audio in the file ({container.format.name}) is in a codec that cannot be decoded")
        if container.format.name == "ogg" and (cut := _ogg_cut_at(data)) is not None:
            raise InvalidAudio(f"the Ogg file is cut short or damaged at byte {cut} of {len(data)} (a partial upload?)")
        mono, packets, bad = _Mono16k(), 0, 0
        try:
            for packet in container.demux(stream):
                packets += 1
                try:
                    for frame in packet.decode():
                        mono.add(frame)
                except (av.FFmpegError, ValueError):  # the packet, or a frame the resampler cannot take
                    bad += 1
                if mono.samples > limit:
                    raise AudioTooLong(max_seconds)
            mono.flush()
        except av.FFmpegError as problem:  # the container itself broke off, or the resampler's last step
            raise InvalidAudio(f"the audio file is damaged or cut short ({_reason(problem)})") from None
        codec = stream.codec_context.name
    if bad > MAX_BAD_PACKET_SHARE * packets or (bad and not mono.samples):
        raise InvalidAudio(f"the audio is damaged: {bad} of {packets} packets could not be decoded ({codec})")
    if mono.samples > limit:
        raise AudioTooLong(max_seconds)
    if not mono.samples:
        raise EmptyAudio("the file holds no audio samples")
    return DecodedAudio(mono.result(), container.format.name, codec, (time.perf_counter() - started) * 1000)
