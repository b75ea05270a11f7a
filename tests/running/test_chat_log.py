"""Reading runs out of Spanish chat messages: examples as runners write them, then round trips of
generated runs through a few message templates, and no crash on any text."""
from datetime import date, timedelta

import pytest
from hypothesis import given, settings, strategies as st

from backend.plugins.running.chat_log import (find_aches, find_day, find_mood, find_rpe, fold, mentions_run,
                                              parse_run_message)
from backend.plugins.running.run_record import validate_run

TODAY = date(2026, 11, 20)  # a Friday


def day(days_back):
    return TODAY - timedelta(days=days_back)


# message -> (days back, km, seconds, rpe, mood, aches)
EXAMPLES = [
    ("corrí 10 km en 55 min, me sentí cansado, me duele la rodilla", (0, 10, 3300, None, 2, ("rodilla",))),
    ("Hoy 10k en 1h05, suave, genial", (0, 10, 3900, 3, 5, ())),
    ("ayer hice 10,5 km en 58:30 esfuerzo 7", (1, 10.5, 3510, 7, None, ())),
    ("8 kilómetros en 45 minutos, duro, me duelen las pantorrillas y el tobillo",
     (0, 8, 2700, 8, None, ("pantorrilla", "tobillo"))),
    ("5000 m en 22:10 RPE 8", (0, 5, 1330, 8, None, ())),
    ("5.000 metros en 21 min 30 s, bien", (0, 5, 1290, None, 4, ())),
    ("corrí 21 km en 1:52:30 el domingo", (5, 21, 6750, None, None, ())),
    ("el lunes 12 km en 1 h 5 min, muy bien", (4, 12, 3900, None, 5, ())),
    ("el viernes 6 km en 36 min", (7, 6, 2160, None, None, ())),  # today's weekday: a week ago
    ("anteayer 6 km en 35' tranquilo, sin dolor en la rodilla", (2, 6, 2100, 3, None, ())),
    ("antes de ayer 4 km en 24 min", (2, 4, 1440, None, None, ())),
    ("anoche 7 km en 40 minutos, me sentí fatal", (1, 7, 2400, None, 1, ())),
    ("10 km a 5:30/km en 55:00", (0, 10, 3300, None, None, ())),  # the pace is not the time
    ("10 km a 5:30 hoy, 55 min", (0, 10, 3300, None, None, ())),
    ("10 km en 1:05", (0, 10, 3900, None, None, ())),  # only hours:minutes is a runnable pace
    ("3 km en 15:30", (0, 3, 930, None, None, ())),
    ("5 km en 25:00 a las 7:00", (0, 5, 1500, None, None, ())),  # a clock time is not the duration
    ("corrí la media maratón en 1:45:20, muy bien", (0, 21.0975, 6320, None, 5, ())),
    ("ayer me dolía la rodilla, hoy corrí 10 km en 50 min", (0, 10, 3000, None, None, ("rodilla",))),
    ("no me sentí bien, 7 km en 40 min", (0, 7, 2400, None, 2, ())),
    ("1 hora y media, 15 km", (0, 15, 5400, None, None, ())),
    ("media hora, 5 km", (0, 5, 1800, None, None, ())),
    ("1,5 h y 14 km", (0, 14, 5400, None, None, ())),
    ("corrí 3 millas en 27 min", (0, 4.828032, 1620, None, None, ())),
    ("la rodilla me duele, 4 km en 30 min", (0, 4, 1800, None, None, ("rodilla",))),
    ("12 km en 1h10 a tope, molestias en el gemelo izquierdo y el tendón de Aquiles",
     (0, 12, 4200, 9, None, ("gemelo", "aquiles"))),
    ("Series: 8 km en 42 min, esfuerzo de 9/10, lesión en los isquios", (0, 8, 2520, 9, None, ("isquios",))),
    ("CORRÍ 10 KM EN 52 MIN, DOLOR EN EL TALÓN, PERO LA CADERA BIEN", (0, 10, 3120, None, 4, ("talón",))),
    ("6 km en 33 min, molestia en la planta del pie", (0, 6, 1980, None, None, ("pie",))),
    ("7 km en 42 min, me sentí cansado pero contento", (0, 7, 2520, None, 2, ())),
]


@pytest.mark.parametrize("message, expected", EXAMPLES)
def test_examples(message, expected):
    days_back, km, seconds, rpe, mood, aches = expected
    record = parse_run_message(message, TODAY)
    assert record is not None
    assert record.day == day(days_back)
    assert record.distance_km == pytest.approx(km)
    assert record.duration_s == pytest.approx(seconds)
    assert (record.rpe, record.mood, record.aches) == (rpe, mood, aches)
    assert record.source == "chat" and record.notes == message


@pytest.mark.parametrize("message", [
    "hoy no corrí", "corrí 10 km", "estuve 55 min en el gimnasio", "", "riego 10 km de surcos",
    "a las 7:00 salgo", "el ritmo fue 5:30/km",
])
def test_no_run_without_distance_and_duration(message):
    assert parse_run_message(message, TODAY) is None


def test_records_are_not_validated_here():
    # The caller validates, so the runner hears why: a two-minute marathon is read as written.
    record = parse_run_message("corrí 42 km en 2 min", TODAY)
    assert (record.distance_km, record.duration_s) == (42, 120)
    with pytest.raises(ValueError, match="récord mundial"):
        validate_run(record, TODAY)


def test_long_messages_are_cut_in_the_notes():
    record = parse_run_message("corrí 10 km en 55 min. " + "bla " * 300, TODAY)
    assert len(record.notes) == 500


@pytest.mark.parametrize("message, expected", [
    ("salí a correr", True), ("corrí 5k en 30 min", True), ("hoy troté un rato", True),
    ("mañana tengo tirada larga", True), ("5 km en 30 min", True),
    ("el mercado está a 10 km", False), ("¿cuándo siembro el maíz?", False), ("el agua corre por el canal", False),
])
def test_mentions_run(message, expected):
    assert mentions_run(message) is expected


@pytest.mark.parametrize("message, days_back", [
    ("", 0), ("hoy", 0), ("ayer", 1), ("anteayer", 2), ("antier", 2), ("el jueves", 1),
    ("el sábado", 6), ("el miércoles", 2), ("el viernes", 7),
])
def test_find_day(message, days_back):
    assert find_day(fold(message), TODAY) == day(days_back)


@pytest.mark.parametrize("message, rpe", [
    ("rpe 8", 8), ("RPE: 6", 6), ("esfuerzo 7/10", 7), ("esfuerzo percibido de 4", 4),
    ("suave", 3), ("fácil y tranquilo", 3), ("ritmo moderado", 5), ("duro", 8), ("muy duro", 9),
    ("calenté suave y luego series duras", 8), ("a tope", 9), ("esfuerzo alto, 10 km", None), ("", None),
])
def test_find_rpe(message, rpe):
    assert find_rpe(fold(message)) == rpe


@pytest.mark.parametrize("message, mood", [
    ("me sentí excelente", 5), ("genial", 5), ("muy bien", 5), ("bien", 4), ("normal", 3),
    ("regular", 3), ("cansado", 2), ("mal", 2), ("no me sentí bien", 2), ("muy mal", 1),
    ("agotada", 1), ("", None),
])
def test_find_mood(message, mood):
    assert find_mood(fold(message)) == mood


@pytest.mark.parametrize("message, aches", [
    ("me duele la rodilla", ("rodilla",)),
    ("me duelen las rodillas", ("rodilla",)),
    ("dolor en el tobillo y en la cadera", ("tobillo", "cadera")),
    ("molestias en los cuádriceps", ("cuádriceps",)),
    ("me molesta la espalda baja", ("espalda",)),
    ("tengo periostitis, me duele la tibia", ("tibia",)),
    ("sobrecarga de gemelos", ("gemelo",)),
    ("la rodilla me duele", ("rodilla",)),
    ("sin dolor en la rodilla", ()),
    ("ya no me duele el tobillo", ()),
    ("la rodilla bien", ()),
    ("me duele la rodilla. El tobillo perfecto", ("rodilla",)),
    ("me duele la rodilla pero el tobillo bien", ("rodilla",)),
    ("corrí 10 km con el pie derecho nuevo", ()),
])
def test_find_aches(message, aches):
    assert find_aches(fold(message)) == aches


# --- round trips ---------------------------------------------------------------------------------

def hms(seconds):
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def km_text(km, comma):
    text = f"{km:.2f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") if comma else text


TEMPLATES = [
    # (template, how the duration is written, how the distance is written)
    lambda km, s, c: (f"corrí {km_text(km, c)} km en {hms(s)}", s, round(km, 2)),
    # minutes:seconds only as runners write it, under 100 minutes; longer runs get h:mm:ss.
    lambda km, s, c: (f"{km_text(km, c)}k en {s // 60}:{s % 60:02d}, bien" if s < 6000
                      else f"{km_text(km, c)}k en {hms(s)}, bien", s, round(km, 2)),
    lambda km, s, c: (f"hice {km_text(km, c)} kilómetros en {round(s / 60)} minutos",
                      round(s / 60) * 60, round(km, 2)),
    lambda km, s, c: (f"{round(km * 1000)} m en {s // 60} min {s % 60} s", s, round(km * 1000) / 1000),
    lambda km, s, c: (f"salí a correr {km_text(km, c)} km, {s // 3600} h {s % 3600 // 60} min",
                      s - s % 60, round(km, 2)),
]


@settings(max_examples=300, deadline=None)
@given(km=st.floats(min_value=0.5, max_value=80), pace=st.integers(180, 900),
       template=st.sampled_from(TEMPLATES), comma=st.booleans(),
       when=st.sampled_from([("", 0), ("ayer ", 1), ("anteayer ", 2), ("el martes ", 3), ("hoy ", 0)]))
def test_round_trip(km, pace, template, comma, when):
    seconds = round(km * pace)
    message, written_seconds, written_km = template(km, seconds, comma)
    if written_seconds <= 0 or written_km <= 0:
        return  # e.g. "0 h 25 min": not a way anyone writes a run
    prefix, days_back = when
    record = parse_run_message(prefix + message, TODAY)
    assert record is not None, prefix + message
    assert record.distance_km == pytest.approx(written_km, abs=1e-9)
    assert record.duration_s == pytest.approx(written_seconds, abs=1e-9)
    assert record.day == day(days_back)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_parses_or_gives_none(text):
    record = parse_run_message(text, TODAY)
    assert record is None or (record.distance_km >= 0 and record.duration_s >= 0)
    assert isinstance(mentions_run(text), bool)
