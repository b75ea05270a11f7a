"""The FAO-56 chapter 8 root-zone water balance and the irrigation advice built on it: soil
textures (Table 19), TAW and RAW (eq. 82-83), Ks (eq. 84), the daily balance (eq. 85-88),
FAO-56's own worked Examples 36, 37 and 38, a hand-worked schedule, the edge cases of `advise`,
and properties over generated fields."""
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.plugins.agro.crops import all_crops, lookup_crop
from backend.plugins.agro.soils import Soil, UnknownSoil, all_soils, lookup_soil
from backend.plugins.agro.water_balance import (HORIZON_DAYS, DayInput, FieldSetup, RootZoneDay, advise,
                                                balance_day, readily_available_water, simulate,
                                                total_available_water, water_stress_coefficient)

TODAY = date(2024, 6, 10)


def days_ago(n: int) -> date:
    return TODAY - timedelta(days=n)


# --- soils (FAO-56 Table 19) ---------------------------------------------------------------

@pytest.mark.parametrize(("name", "key", "taw_mm_per_m"), [
    # midpoints of Table 19's θFC and θWP ranges: 1000 (θFC - θWP)
    ("arenoso", "arenoso", 75), ("arenoso franco", "arenoso_franco", 85), ("franco arenoso", "franco_arenoso", 120),
    ("franco", "franco", 130), ("franco limoso", "franco_limoso", 140), ("limoso", "limoso", 150),
    ("franco arcillo limoso", "franco_arcillo_limoso", 130), ("arcillo limoso", "arcillo_limoso", 130),
    ("arcilloso", "arcilloso", 140), ("franco arcilloso", "franco_arcilloso", 130),
])
def test_table_19_midpoints(name, key, taw_mm_per_m):
    soil = lookup_soil(name)
    assert soil.key == key
    assert soil.taw_mm_per_m == pytest.approx(taw_mm_per_m)


@pytest.mark.parametrize(("name", "key"), [
    ("Franco-Arenoso", "franco_arenoso"), ("sandy loam", "franco_arenoso"), ("ARCILLA", "arcilloso"),
    ("suelo arenoso", "arenoso"), ("greda", "arcilloso"), ("limo", "limoso"), ("Clay loam", "franco_arcilloso"),
])
def test_soil_aliases(name, key):
    assert lookup_soil(name).key == key


@pytest.mark.parametrize("answer", ["no sé", "No se", "ni idea", "", "?"])
def test_unknown_texture_answer_gives_the_documented_default(answer):
    soil = lookup_soil(answer)
    assert soil.key == "franco" and soil.assumed
    assert not lookup_soil("franco").assumed


def test_unknown_soil_lists_the_textures():
    with pytest.raises(UnknownSoil) as raised:
        lookup_soil("pedregoso")
    assert isinstance(raised.value, ValueError)
    for texture in ("arenoso", "franco arenoso", "franco limoso", "arcilloso", "no sé"):
        assert texture in str(raised.value)
    assert len(all_soils()) == 10


# --- TAW, RAW, Ks and one day of balance ---------------------------------------------------

def test_taw_and_raw_from_table_19_and_22():
    loam, sand = lookup_soil("franco"), lookup_soil("arenoso")
    assert total_available_water(loam, 1.0) == pytest.approx(130.0)  # 1000 (0.25 - 0.12) 1.0
    assert total_available_water(sand, 0.5) == pytest.approx(37.5)  # 1000 (0.12 - 0.045) 0.5
    maize = lookup_crop("maiz")
    assert readily_available_water(130.0, maize.depletion_fraction(5.0)) == pytest.approx(71.5)  # p = 0.55
    assert readily_available_water(130.0, maize.depletion_fraction(7.0)) == pytest.approx(61.1)  # p = 0.47


def test_water_stress_coefficient_eq_84():
    assert water_stress_coefficient(40, taw_mm=100, raw_mm=50) == 1.0
    assert water_stress_coefficient(50, taw_mm=100, raw_mm=50) == 1.0
    assert water_stress_coefficient(75, taw_mm=100, raw_mm=50) == pytest.approx(0.5)
    assert water_stress_coefficient(100, taw_mm=100, raw_mm=50) == 0.0


def test_balance_day_eq_85_and_88():
    # (start after the water, end, percolation, ETc used, Ks)
    assert balance_day(20.0, etc_mm=5.0, rain_mm=10.0, net_irrigation_mm=0.0, taw_mm=130, raw_mm=65) == (
        10.0, 15.0, 0.0, 5.0, 1.0)
    # more water than the deficit: field capacity early in the day, the rest percolates
    # (DP = P + I - Dr = 20), then the day's ETc
    assert balance_day(10.0, etc_mm=6.0, rain_mm=30.0, net_irrigation_mm=0.0, taw_mm=130, raw_mm=65) == (
        0.0, 6.0, 20.0, 6.0, 1.0)
    assert balance_day(60.0, etc_mm=6.0, rain_mm=0.0, net_irrigation_mm=60.0, taw_mm=130, raw_mm=65) == (
        0.0, 6.0, 0.0, 6.0, 1.0)
    # past RAW: Ks (130 - 97.5) / (130 - 65) = 0.5
    assert balance_day(97.5, etc_mm=6.0, rain_mm=0.0, net_irrigation_mm=0.0, taw_mm=130, raw_mm=65) == (
        97.5, 100.5, 0.0, 3.0, 0.5)


def test_under_stress_the_crop_uses_less_and_the_soil_never_passes_taw():
    depletion, used = 60.0, []
    for _ in range(60):
        _, depletion, percolation, etc, _ = balance_day(depletion, 8.0, 0.0, 0.0, taw_mm=100, raw_mm=50)
        used.append(etc)
        assert depletion < 100 and percolation == 0
    assert used[0] < 8.0 and used == sorted(used, reverse=True) and used[-1] < 0.1


# --- FAO-56's worked examples (chapter 8, pages 166-173 of the 1998 text) -------------------
# Printed figures are rounded, and so are the inputs the examples carry over from earlier ones
# (Example 38's Kc to 0.01): each comparison allows half the printed unit plus what that input
# rounding can add up to.

def fao_soil(theta_fc: float, theta_wp: float) -> Soil:
    return Soil("ejemplo", "ejemplo", (), (theta_fc, theta_fc), (theta_wp, theta_wp), "FAO-56 chapter 8")


@pytest.mark.parametrize(("soil", "crop", "root_m", "p", "taw_mm", "raw_mm"), [
    # Example 36: Table 22 gives onion Zr 0.4 m p 0.30, tomato 0.8 m 0.40, maize 1.2 m 0.55;
    # Table 19 loamy sand 0.15/0.06, silt 0.32/0.15, silty clay 0.35/0.23
    ("loamy sand", "onion", 0.4, 0.30, 36, 11), ("loamy sand", "tomato", 0.8, 0.40, 72, 29),
    ("loamy sand", "maize", 1.2, 0.55, 108, 59), ("silt", "onion", 0.4, 0.30, 68, 20),
    ("silt", "tomato", 0.8, 0.40, 136, 54), ("silt", "maize", 1.2, 0.55, 204, 112),
    ("silty clay", "onion", 0.4, 0.30, 48, 14), ("silty clay", "tomato", 0.8, 0.40, 96, 38),
    ("silty clay", "maize", 1.2, 0.55, 144, 79),
])
def test_fao56_example_36_readily_available_water(soil, crop, root_m, p, taw_mm, raw_mm):
    theta = {"loamy sand": (0.15, 0.06), "silt": (0.32, 0.15), "silty clay": (0.35, 0.23)}[soil]
    taw = total_available_water(fao_soil(*theta), root_m)
    assert round(taw) == taw_mm
    assert round(readily_available_water(taw, p)) == raw_mm


def test_fao56_example_37_water_stress_over_ten_dry_days():
    """Full-grown tomato, Zr 0.8 m, p 0.40, silty soil 0.32/0.12: TAW 160, RAW 64 mm; ET0 5 mm/d,
    Kc 1.2, starting 55 mm depleted, no rain or irrigation."""
    first = date(2024, 7, 1)
    days = [RootZoneDay(first + timedelta(days=n), 5.0, 1.2, 0.8, 0.40) for n in range(10)]
    balances = list(simulate(fao_soil(0.32, 0.12), days, 55.0))
    assert round(balances[0].taw_mm) == 160 and round(balances[0].raw_mm) == 64
    printed_ks = [1.00, 1.00, 0.97, 0.91, 0.85, 0.80, 0.75, 0.70, 0.66, 0.62]
    printed_etc_adj = [6.0, 6.0, 5.8, 5.4, 5.1, 4.8, 4.5, 4.2, 3.9, 3.7]
    printed_end = [61.0, 67.0, 72.8, 78.3, 83.4, 88.2, 92.6, 96.9, 100.8, 104.5]
    for day, ks, etc, end in zip(balances, printed_ks, printed_etc_adj, printed_end, strict=True):
        assert day.ks == pytest.approx(ks, abs=0.005)
        assert day.etc_mm == pytest.approx(etc, abs=0.05)
        assert day.depletion_mm == pytest.approx(end, abs=0.05)
        assert day.irrigation_due_mm == 0 and day.deep_percolation_mm == 0


def test_fao56_example_38_irrigation_scheduling():
    """Example 35's field (θFC 0.23, θWP 0.10) with p 0.6, Zr from 0.30 m on day 1 to 0.35 m on
    day 10, 23 mm (RAW) depleted at the start, 40 mm irrigated on day 1, 6 mm of rain on day 6,
    water early in the day. Kc = Kcb + Ke as printed (Ks stays 1). The schedule must find the
    second irrigation itself: day 10, 27 mm net, no percolation."""
    et0 = [4.5, 5.0, 3.9, 4.2, 4.8, 2.7, 5.8, 5.1, 4.7, 5.2]
    kc = [1.21, 1.21, 1.04, 0.70, 0.52, 1.00, 0.82, 0.55, 0.47, 1.21]
    rain = {6: 6.0}
    first = date(2024, 7, 1)
    days = [RootZoneDay(first + timedelta(days=n - 1), et0[n - 1], kc[n - 1], 0.30 + 0.05 * (n - 1) / 9, 0.6,
                        rain.get(n, 0.0), 40.0 if n == 1 else 0.0) for n in range(1, 11)]
    soil = fao_soil(0.23, 0.10)
    initial = readily_available_water(total_available_water(soil, 0.30), 0.6)
    assert round(initial) == 23
    balances = list(simulate(soil, days, initial, schedule_from=first))

    printed_raw = [23, 24, 24, 25, 25, 26, 26, 26, 27, 27]
    printed_start = [0, 5, 12, 16, 18, 15, 18, 22, 25, 0]
    printed_etc = [5.5, 6.1, 4.0, 2.9, 2.5, 2.7, 4.7, 2.8, 2.2, 6.3]
    printed_percolation = [17, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    printed_end = [5, 12, 16, 18, 21, 18, 22, 25, 27, 6]
    et0_since_field_capacity = 0.0
    for n, day in enumerate(balances):
        if day.start_depletion_mm == 0:
            et0_since_field_capacity = 0.0
        slack = 0.005 * et0_since_field_capacity  # Kc printed to 0.01, carried through the days
        assert round(day.raw_mm) == printed_raw[n]
        assert day.start_depletion_mm == pytest.approx(printed_start[n], abs=0.5 + slack)
        assert day.etc_mm == pytest.approx(printed_etc[n], abs=0.05 + 0.005 * et0[n])
        assert day.deep_percolation_mm == pytest.approx(printed_percolation[n], abs=0.5)
        et0_since_field_capacity += et0[n]
        assert day.depletion_mm == pytest.approx(printed_end[n], abs=0.5 + 0.005 * et0_since_field_capacity)
    assert [round(day.irrigation_due_mm) for day in balances] == [0] * 9 + [27]
    assert balances[-1].deep_percolation_mm == 0


# --- a schedule worked by hand -------------------------------------------------------------

def test_hand_worked_schedule_maize_mid_season_on_loam():
    """Maize 90 days after sowing: mid-season, Kc 1.20, roots at their 1.0 m; loam: TAW 130 mm.
    Starting 50 mm depleted:
      day 1: ET0 5 -> ETc 6.0;  p = 0.55 + 0.04 (5 - 6.0) = 0.510, RAW 66.3;  Dr = 50 + 6        = 56.0
      day 2: ET0 5, 12 mm rain early:                     start 56 - 12 = 44; Dr = 44 + 6        = 50.0
      day 3: ET0 6 -> ETc 7.2;  p = 0.55 + 0.04 (5 - 7.2) = 0.462, RAW 60.06; Dr = 50 + 7.2      = 57.2
      day 4 (today): ET0 6, starts at 57.2 < RAW;                             Dr = 57.2 + 7.2    = 64.4
      day 5: starts at 64.4 >= RAW 60.06
    so irrigate early tomorrow: 64.4 mm net, 64.4 / 0.8 = 80.5 mm gross, 80.5 / 10 mm/h = 8.05 hours."""
    setup = FieldSetup(lookup_crop("maiz"), days_ago(93), lookup_soil("franco"), irrigation_rate_mm_h=10,
                       efficiency=0.8)
    history = [DayInput(days_ago(3), 5.0), DayInput(days_ago(2), 5.0, rain_mm=12.0), DayInput(days_ago(1), 6.0)]
    forecast = [DayInput(TODAY, 6.0), DayInput(TODAY + timedelta(days=1), 6.0)]
    advice = advise(setup, history, forecast, TODAY, initial_depletion_mm=50.0)
    assert advice.depletion_mm == pytest.approx(64.4)
    assert advice.taw_mm == pytest.approx(130.0)
    assert advice.raw_mm == pytest.approx(60.06)
    assert advice.next_irrigation == TODAY + timedelta(days=1)
    assert advice.depth_mm == pytest.approx(80.5)
    assert advice.hours == pytest.approx(8.05)
    assert advice.days_simulated == 5

    yesterday = advise(setup, history[:2], [history[2], *forecast], days_ago(1), initial_depletion_mm=50.0)
    assert yesterday.depletion_mm == pytest.approx(57.2)
    assert yesterday.next_irrigation == TODAY + timedelta(days=1)

    # seen tomorrow, the irrigation is due that day; the depletion is the one it refills
    tomorrow = advise(setup, [*history, forecast[0]], forecast[1:], TODAY + timedelta(days=1),
                      initial_depletion_mm=50.0)
    assert tomorrow.next_irrigation == TODAY + timedelta(days=1)
    assert tomorrow.depletion_mm == pytest.approx(64.4) and tomorrow.depth_mm == pytest.approx(80.5)


def test_reported_irrigation_refills_the_root_zone():
    setup = FieldSetup(lookup_crop("maiz"), days_ago(93), lookup_soil("franco"))
    history = [DayInput(days_ago(n), 6.0) for n in range(10, 0, -1)]
    dry = advise(setup, history, [], TODAY)
    watered = advise(setup, history[:-1] + [DayInput(days_ago(1), 6.0, irrigation_mm=80.0)], [], TODAY)
    assert dry.next_irrigation == TODAY
    # field capacity early yesterday, then yesterday's and today's ETc (7.2 mm each)
    assert watered.depletion_mm == pytest.approx(7.2 * 2)
    assert watered.next_irrigation > TODAY + timedelta(days=5)


# --- advise: edge cases --------------------------------------------------------------------

def maize_setup(sown_days_ago: int, **fields) -> FieldSetup:
    return FieldSetup(lookup_crop("maiz"), days_ago(sown_days_ago), lookup_soil("franco"), **fields)


def week(et0: float = 5.0, rain: float = 0.0) -> list[DayInput]:
    return [DayInput(days_ago(n), et0, rain) for n in range(7, 0, -1)]


def test_planting_in_the_future_is_an_error():
    with pytest.raises(ValueError, match="planting date is in the future"):
        advise(maize_setup(-3), week(), [], TODAY)


def test_after_harvest_there_is_no_irrigation():
    advice = advise(maize_setup(200), week(), [], TODAY)
    assert advice.next_irrigation is None and advice.depth_mm == 0.0 and advice.hours is None
    assert any("cosecha" in text for text in advice.assumptions)


def test_no_irrigation_needed_before_harvest():
    advice = advise(maize_setup(137), week(rain=10.0), [], TODAY)  # harvest in 3 days, soil wet
    assert advice.next_irrigation is None
    assert any("antes de la cosecha" in text for text in advice.assumptions)


def test_without_history_the_soil_starts_at_field_capacity_today():
    advice = advise(maize_setup(90), [], [DayInput(TODAY, 5.0)], TODAY)
    assert advice.depletion_mm == pytest.approx(6.0)
    assert any("Sin historial" in text for text in advice.assumptions)
    assert any("Más allá del pronóstico" in text for text in advice.assumptions)


def test_days_before_planting_are_ignored_and_said():
    advice = advise(maize_setup(3), week(), [], TODAY)
    assert any("anteriores a la siembra" in text for text in advice.assumptions)
    assert any("al sembrar" in text for text in advice.assumptions)
    assert advice.days_simulated >= 4


def test_missing_days_use_the_recent_mean_and_say_so():
    history = [d for d in week(et0=4.0) if d.day != days_ago(3)]
    advice = advise(maize_setup(90), history, [], TODAY)
    assert any("Sin datos del clima para 1 día del pasado" in text for text in advice.assumptions)


def test_no_evaporation_means_no_irrigation_within_the_horizon():
    coffee = FieldSetup(lookup_crop("cafe"), date(2015, 1, 1), lookup_soil("franco"))
    advice = advise(coffee, week(et0=0.0), [], TODAY)
    assert advice.next_irrigation is None
    assert any(f"{HORIZON_DAYS} días" in text for text in advice.assumptions)
    assert advice.days_simulated == 7 + HORIZON_DAYS + 1


def test_assumed_soil_and_crop_caveats_reach_the_assumptions():
    rice = FieldSetup(lookup_crop("arroz"), days_ago(40), lookup_soil("no sé"))
    advice = advise(rice, week(), [], TODAY)
    assert any("se supuso franco" in text for text in advice.assumptions)
    assert any("inundación" in text for text in advice.assumptions)


@pytest.mark.parametrize(("history", "forecast", "message"), [
    ([DayInput(days_ago(1), 5.0), DayInput(days_ago(1), 4.0)], [], "same day twice"),
    ([DayInput(TODAY + timedelta(days=1), 5.0)], [], "after today"),
    ([], [], "no ET0"),
])
def test_inconsistent_inputs_are_refused(history, forecast, message):
    with pytest.raises(ValueError, match=message):
        advise(maize_setup(50), history, forecast, TODAY)


def test_bad_setup_and_day_values_are_refused():
    with pytest.raises(ValueError, match="efficiency"):
        maize_setup(10, efficiency=0.0)
    with pytest.raises(ValueError, match="irrigation_rate_mm_h"):
        maize_setup(10, irrigation_rate_mm_h=-2.0)
    with pytest.raises(ValueError, match="et0_mm"):
        DayInput(TODAY, -1.0)
    with pytest.raises(ValueError, match="rain_mm"):
        DayInput(TODAY, 3.0, rain_mm=float("nan"))
    with pytest.raises(ValueError, match="initial_depletion_mm"):
        advise(maize_setup(50), week(), [], TODAY, initial_depletion_mm=-5.0)


# --- properties ----------------------------------------------------------------------------

amounts = st.one_of(st.just(0.0), st.floats(0, 40))


@st.composite
def fields(draw, constant_et0: bool = False):
    setup = FieldSetup(draw(st.sampled_from(all_crops())), days_ago(draw(st.integers(0, 400))),
                       draw(st.sampled_from(all_soils())), draw(st.none() | st.floats(0.5, 40)),
                       draw(st.sampled_from([1.0, 0.9, 0.75, 0.5])))
    past, ahead = draw(st.integers(0, 20)), draw(st.integers(0, 10))
    ahead = ahead or (0 if past else 1)
    et0 = st.just(draw(st.floats(0, 10))) if constant_et0 else st.floats(0, 10)
    history = [DayInput(days_ago(n), draw(et0), draw(amounts), draw(st.one_of(st.just(0.0), st.floats(0, 60))))
               for n in range(past, 0, -1)]
    forecast = [DayInput(TODAY + timedelta(days=n), draw(et0), draw(amounts)) for n in range(ahead)]
    return setup, history, forecast, draw(st.none() | st.floats(0, 300))


def next_day(advice) -> date:
    return advice.next_irrigation or date.max


@settings(max_examples=100, deadline=None)
@given(fields())
def test_depletion_stays_within_the_root_zone(field):
    advice = advise(*field[:3], TODAY, initial_depletion_mm=field[3])
    assert 0 <= advice.depletion_mm <= advice.taw_mm + 1e-9
    assert 0 < advice.raw_mm < advice.taw_mm
    if advice.next_irrigation is not None:
        assert advice.next_irrigation >= TODAY
        setup = field[0]
        if setup.irrigation_rate_mm_h is None:
            assert advice.hours is None
        else:
            assert advice.hours == pytest.approx(advice.depth_mm / setup.irrigation_rate_mm_h)
    else:
        assert advice.depth_mm == 0.0 and advice.hours is None


@settings(max_examples=100, deadline=None)
@given(st.floats(0, 300), st.floats(0, 30), st.floats(0, 40), st.floats(0, 60), st.floats(10, 300),
       st.floats(0.1, 0.8))
def test_one_day_of_balance_stays_within_the_root_zone(depletion, etc, rain, irrigation, taw, p):
    start, end, percolation, used, ks = balance_day(depletion, etc, rain, irrigation, taw, p * taw)
    assert 0 <= start <= end <= taw and percolation >= 0 and 0 <= ks <= 1
    assert 0 <= used <= etc + 1e-9


def advise_before_and_after(field, data, change) -> tuple:
    """The advice for a generated field, and again with one drawn day changed by `change`."""
    setup, history, forecast, initial = field
    days = history + forecast
    index = data.draw(st.integers(0, len(days) - 1))
    days = days[:index] + [change(days[index])] + days[index + 1:]
    before = advise(setup, history, forecast, TODAY, initial)
    after = advise(setup, days[:len(history)], days[len(history):], TODAY, initial)
    return before, after


@settings(max_examples=100, deadline=None)
@given(fields(), st.data())
def test_more_rain_never_brings_the_next_irrigation_earlier(field, data):
    more = data.draw(st.floats(0.1, 100))
    before, after = advise_before_and_after(field, data, lambda day: replace(day, rain_mm=day.rain_mm + more))
    assert next_day(after) >= next_day(before)


@settings(max_examples=100, deadline=None)
@given(fields(), st.data())
def test_more_et0_never_delays_the_next_irrigation(field, data):
    more = data.draw(st.floats(0.1, 15))
    before, after = advise_before_and_after(field, data, lambda day: replace(day, et0_mm=day.et0_mm + more))
    assert next_day(after) <= next_day(before)


@settings(max_examples=100, deadline=None)
@given(fields(constant_et0=True))
def test_the_advised_depth_refills_at_least_that_days_raw(field):
    setup, history, forecast, initial = field
    advice = advise(setup, history, forecast, TODAY, initial)
    if advice.next_irrigation is None:
        return
    et0 = (history + forecast)[0].et0_mm
    day_after_planting = (advice.next_irrigation - setup.planting_date).days
    taw = total_available_water(setup.soil, setup.crop.root_depth(day_after_planting))
    p = setup.crop.depletion_fraction(setup.crop.kc(day_after_planting) * et0)
    net = advice.depth_mm * setup.efficiency
    assert p * taw - 1e-9 <= net <= taw + 1e-9
    assert advice.depth_mm >= net
