"""Replies cut into WhatsApp-sized pieces."""
from __future__ import annotations

from hypothesis import given, strategies as st

from whatsapp_bridge.splitting import split_message


def test_short_text_is_one_piece_and_empty_text_none():
    assert split_message("  Riega el jueves.  ") == ["Riega el jueves."]
    assert split_message("   ") == []


def test_cuts_fall_after_sentences_and_keep_line_breaks():
    assert split_message("¿Cuándo riego? Mañana temprano.\nLámina: 28 mm.", 32) == [
        "¿Cuándo riego? Mañana temprano.", "Lámina: 28 mm."]
    assert split_message("Paso 1.\nPaso 2.\nPaso 3. Listo", 16) == ["Paso 1.\nPaso 2.", "Paso 3. Listo"]


def test_without_sentence_ends_it_cuts_between_words_then_anywhere():
    assert split_message("uno dos tres cuatro", 9) == ["uno dos", "tres", "cuatro"]
    assert split_message("a" * 25, 10) == ["a" * 10, "a" * 10, "a" * 5]


@given(st.text(alphabet=st.sampled_from(list("abc .!?\n¿")), max_size=400), st.integers(min_value=5, max_value=60))
def test_every_piece_fits_and_nothing_is_lost(text, limit):
    pieces = split_message(text, limit)
    assert all(0 < len(piece) <= limit for piece in pieces)
    assert "".join("".join(pieces).split()) == "".join(text.split())  # same characters, white space aside
