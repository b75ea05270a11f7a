"""Spanish voice notes for the model API's speech tests and bench/speech.py: short sentences a
farmer or a runner would send, the kind of domain prompt the backend sends with them, and notes of
a given length (the word error rate is tests/speech/wer.py's)."""
from __future__ import annotations

SENTENCES = (
    "tengo maíz en Huaral",
    "cuándo riego mi papa",
    "hay rancha en mi papa",
    "sembré quinua hace dos meses",
    "corrí diez kilómetros en cincuenta minutos",
    "me duele la rodilla derecha",
    "encontré gusano cogollero en el maíz",
    "cayó una helada anoche",
    "mañana voy a regar el maíz temprano",
    "las hojas de la papa tienen manchas negras",
    "quiero correr una maratón en abril",
    "hoy troté ocho kilómetros despacio",
    "cuánta agua necesita mi palta",
    "estoy muy cansado después del fondo largo",
    "va a llover esta semana en Cajamarca",
    "qué entrenamiento me toca hoy",
)
# The kind of vocabulary the backend sends as `prompt`: names Whisper base rarely spells right.
DOMAIN_PROMPT = ("Mensaje de un agricultor o corredor peruano: riego, maíz, papa, quinua, rancha, gusano "
                 "cogollero, helada, Huaral, Cajamarca, kilómetros, rodilla, maratón.")


def spoken_for(seconds: float, fmt: str = "ogg") -> tuple[bytes, str]:
    """A note of exactly `seconds`: as many of SENTENCES as fit, one after another, then silence;
    returns the encoded note and what it says."""
    import io
    import wave

    from tests.speech.voices import _wav_of_samples, encode, padded, speak_wav

    pcm, said = b"", []
    for sentence in SENTENCES * 4:
        with wave.open(io.BytesIO(speak_wav(sentence))) as wav:
            rate, more = wav.getframerate(), wav.readframes(wav.getnframes())
        if said and (len(pcm) + len(more)) / 2 / rate > seconds:
            break
        pcm, said = pcm + more, said + [sentence]
    return encode(padded(_wav_of_samples(pcm, rate), seconds), fmt), " ".join(said)
