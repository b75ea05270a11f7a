"""RunRecord, validate_run and dedupe_key: table-driven cases, then properties over generated runs."""
import math
from datetime import date, timedelta

import pytest
from hypothesis import given, settings, strategies as st

from backend.plugins.running.run_record import (InvalidRun, RunRecord, dedupe_key, format_pace,
                                                one_year_before, validate_run)

TODAY = date(2026, 11, 20)


def run(distance_km=10.0, duration_s=3300.0, day=TODAY, **fields):
    return RunRecord(day=day, distance_km=distance_km, duration_s=duration_s, **fields)


@pytest.mark.parametrize("record", [
    run(),
    run(0.4, 70),  # a fast 400 m rep: sprint paces are fine under 1 km
    run(42.195, 3 * 3600 + 30 * 60, rpe=9, mood=5, aches=("rodilla",), notes="maratón", source="form"),
    run(1, 150),  # exactly 2:30/km
    run(5, 6000),  # exactly 20:00/km
    run(350, 350 * 600, source="garmin", external_id="garmin:1"),
    run(day=one_year_before(TODAY)),  # a year ago to the day is still allowed
    run(rpe=1, mood=1),
    run(rpe=10, mood=5),
])
def test_plausible_runs_pass_unchanged(record):
    assert validate_run(record, TODAY) is record


@pytest.mark.parametrize("record, message", [
    (run(0), "La distancia debe ser mayor que 0 km."),
    (run(-3), "La distancia debe ser mayor que 0 km."),
    (run(math.nan), "La distancia debe ser mayor que 0 km."),
    (run(math.inf), "La distancia debe ser mayor que 0 km."),
    (run(351, 351 * 600), "no puede pasar de 350 km"),
    (run(0.005, 2), "menos de 10 m"),
    (run(duration_s=0), "La duración debe ser mayor que 0."),
    (run(duration_s=math.nan), "La duración debe ser mayor que 0."),
    (run(42.195, 120), "más rápido que el récord mundial"),  # a two-minute marathon
    (run(10, 1490), "más rápido que el récord mundial"),  # 2:29/km over 10 km
    (run(0.1, 9), "más rápido que el récord mundial"),  # 100 m in 9 s
    (run(10, 10 * 3600), "más lento que 20:00 min/km"),
    (run(day=TODAY + timedelta(days=1)), "está en el futuro"),
    (run(day=one_year_before(TODAY) - timedelta(days=1)), "hace más de un año"),
    (run(rpe=0), "El esfuerzo (RPE)"),
    (run(rpe=11), "El esfuerzo (RPE)"),
    (run(rpe=True), "El esfuerzo (RPE)"),
    (run(rpe=7.5), "El esfuerzo (RPE)"),
    (run(mood=0), "El ánimo"),
    (run(mood=6), "El ánimo"),
    (run(source="strava"), "Origen desconocido"),
])
def test_implausible_runs_are_refused_in_spanish(record, message):
    with pytest.raises(InvalidRun, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate_run(record, TODAY)


def test_the_reason_names_the_pace_and_the_day():
    with pytest.raises(InvalidRun, match=r"0:03 min/km"):
        validate_run(run(42.195, 120), TODAY)
    with pytest.raises(InvalidRun, match=r"21/11/2026"):
        validate_run(run(day=date(2026, 11, 21)), TODAY)


def test_invalid_run_is_a_value_error():
    assert issubclass(InvalidRun, ValueError)


@pytest.mark.parametrize("distance, duration, pace", [
    (10, 3300, 330), (5, 1500, 300), (0.4, 70, 175), (0, 60, math.inf), (-1, 60, math.inf),
])
def test_pace(distance, duration, pace):
    assert run(distance, duration).pace_s_per_km == pace


@pytest.mark.parametrize("seconds, shown", [(330, "5:30"), (150, "2:30"), (1200, "20:00"), (299.6, "5:00"),
                                           (math.inf, "--:--")])
def test_format_pace(seconds, shown):
    assert format_pace(seconds) == shown


@pytest.mark.parametrize("today, expected", [
    (date(2026, 11, 20), date(2025, 11, 20)),
    (date(2028, 2, 29), date(2027, 2, 28)),
])
def test_one_year_before(today, expected):
    assert one_year_before(today) == expected


def test_dedupe_key_prefers_the_external_id():
    assert dedupe_key(run(external_id="garmin:123")) == "garmin:123"


def test_dedupe_key_matches_the_same_run_logged_roughly_twice():
    by_chat = run(10, 55 * 60)
    by_form = run(10.02, 55 * 60 + 12, source="form")
    assert dedupe_key(by_chat) == dedupe_key(by_form) == "2026-11-20|10.0km|55min"


@pytest.mark.parametrize("other", [
    run(day=TODAY - timedelta(days=1)), run(12), run(duration_s=3600),
])
def test_dedupe_key_tells_different_runs_apart(other):
    assert dedupe_key(other) != dedupe_key(run())


def test_records_are_frozen():
    with pytest.raises(AttributeError):
        run().distance_km = 5


# --- properties ----------------------------------------------------------------------------------

any_number = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                       st.floats(min_value=0, max_value=400), st.integers(-10, 400))
records = st.builds(
    RunRecord,
    day=st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 1, 1)),
    distance_km=any_number,
    duration_s=st.one_of(any_number, st.floats(min_value=1, max_value=200_000)),
    rpe=st.one_of(st.none(), st.integers(-2, 12), st.booleans()),
    mood=st.one_of(st.none(), st.integers(-2, 7)),
    source=st.sampled_from(["chat", "garmin", "form", "strava"]),
)


@settings(max_examples=400, deadline=None)
@given(records, st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)))
def test_accepted_runs_are_always_plausible(record, today):
    try:
        validate_run(record, today)
    except InvalidRun:
        return
    assert 0.01 <= record.distance_km <= 350
    if record.distance_km >= 1:
        assert 150 <= record.pace_s_per_km <= 1200  # 2:30 .. 20:00 min/km
    else:
        assert 96 <= record.pace_s_per_km <= 1200
    assert one_year_before(today) <= record.day <= today
    assert record.rpe is None or 1 <= record.rpe <= 10
    assert record.mood is None or 1 <= record.mood <= 5


@settings(max_examples=200, deadline=None)
@given(distance=st.floats(min_value=1, max_value=100), pace=st.floats(min_value=150, max_value=1200),
       back=st.integers(0, 364))
def test_every_ordinary_run_is_accepted(distance, pace, back):
    record = run(distance, distance * pace, day=TODAY - timedelta(days=back))
    # Float division may land a hair outside the bounds; those edges are not what this checks.
    if 150 <= record.pace_s_per_km <= 1200:
        assert validate_run(record, TODAY) is record


@given(distance=st.floats(min_value=0.1, max_value=300), duration=st.floats(min_value=1, max_value=100_000))
def test_dedupe_key_is_stable(distance, duration):
    assert dedupe_key(run(distance, duration)) == dedupe_key(run(distance, duration, notes="otra vez"))
