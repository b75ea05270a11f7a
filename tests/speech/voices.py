"""Spanish speech made for the tests: espeak-ng speaks a sentence, PyAV encodes it the way
WhatsApp sends voice notes (OGG/Opus, 48 kHz mono) or as the other formats users forward
(AAC in MP4, AMR narrow-band, MP3).

espeak-ng is robotic; spoken slowly with gaps between words (`-s 110 -g 8`) Whisper base reads
it far better than at normal speed, so that is the default here. Real voices do better still.
"""
from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from pathlib import Path

import av

# container format, codec, sample rate: what WhatsApp voice notes and forwarded audio files use
FORMATS = {
    "ogg": ("ogg", "libopus", 48000, "audio/ogg"),
    "m4a": ("mp4", "aac", 44100, "audio/mp4"),
    "amr": ("amr", "libopencore_amrnb", 8000, "audio/amr"),
    "mp3": ("mp3", "libmp3lame", 44100, "audio/mpeg"),
}


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def speak_wav(text: str, speed: int = 110, gap: int = 8, voice: str = "es") -> bytes:
    """espeak-ng's own output: 22.05 kHz 16-bit mono WAV."""
    with tempfile.TemporaryDirectory() as scratch:
        wav = Path(scratch) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-g", str(gap), "-w", str(wav), text],
                       check=True, capture_output=True, timeout=60)
        return wav.read_bytes()


def encode(wav: bytes, fmt: str = "ogg") -> bytes:
    """The WAV re-encoded as `fmt` (a key of FORMATS)."""
    container, codec, rate, _ = FORMATS[fmt]
    out_buffer = io.BytesIO()
    with av.open(io.BytesIO(wav)) as source, av.open(out_buffer, "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        if codec == "libopencore_amrnb":
            stream.bit_rate = 12200
        resampler = av.AudioResampler(format=stream.codec_context.codec.audio_formats[0].name,
                                      layout="mono", rate=rate)
        for frame in source.decode(audio=0):
            for piece in resampler.resample(frame):
                out.mux(stream.encode(piece))
        for piece in resampler.resample(None):
            out.mux(stream.encode(piece))
        out.mux(stream.encode(None))
    return out_buffer.getvalue()


def voice_note(text: str, fmt: str = "ogg", **speech) -> bytes:
    """`text` spoken in Spanish, as a WhatsApp voice note would carry it."""
    return encode(speak_wav(text, **speech), fmt)


def silence(seconds: float, fmt: str = "ogg") -> bytes:
    """A note with nothing said in it (a pocket recording)."""
    return encode(_wav_of_samples(b"\x00\x00" * int(22050 * seconds)), fmt)


def _wav_of_samples(pcm: bytes, rate: int = 22050) -> bytes:
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)
    return buffer.getvalue()


def padded(wav: bytes, seconds: float) -> bytes:
    """The speech followed by silence up to `seconds` in all (a long note)."""
    import wave

    with wave.open(io.BytesIO(wav)) as source:
        rate, pcm = source.getframerate(), source.readframes(source.getnframes())
    missing = max(0, int(rate * seconds) - len(pcm) // 2)
    return _wav_of_samples(pcm + b"\x00\x00" * missing, rate)
