"""The community pest signal: outbreaks from neighbours' reports, and each producer alerted once.
Properties over generated reports (positions scattered around a few places in Peru, days around
today, producers reporting more than once), plus the examples the feature is about."""
import math
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from backend.plugins.agro.pest_signal import (Outbreak, PestReport, Producer, SignalSettings, alert_text,
                                              find_outbreaks, haversine_km, producers_to_alert)

TODAY = date(2026, 3, 10)
SETTINGS = SignalSettings()  # 3 producers, 10 km, 5 days
CAJAMARCA = (-7.1617, -78.5128)
hypothesis_settings = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def moved(place: tuple[float, float], east_km: float, north_km: float) -> tuple[float, float]:
    latitude = place[0] + north_km / 111.195
    return latitude, place[1] + east_km / (111.195 * math.cos(math.radians(latitude)))


def report(reporter: int, place=CAJAMARCA, days_ago: int = 0, pest="gusano_cogollero", crop="maíz",
           east_km: float = 0.0, north_km: float = 0.0) -> PestReport:
    latitude, longitude = moved(place, east_km, north_km)
    return PestReport(reporter, pest, crop, latitude, longitude, TODAY - timedelta(days=days_ago))


def producer(id: int, crop="maíz", place=CAJAMARCA, east_km: float = 0.0, north_km: float = 0.0) -> Producer:
    return Producer(id, crop, *moved(place, east_km, north_km))


def run_signal(reports, producers, alerted, today=TODAY, signal=SETTINGS) -> list[tuple[Outbreak, Producer]]:
    """What the scheduler job does: alert, and record each alert before the next outbreak."""
    sent = []
    for outbreak in find_outbreaks(reports, today, signal):
        for chosen in producers_to_alert(outbreak, producers, alerted, signal):
            alerted.add((outbreak.key, chosen.id))
            sent.append((outbreak, chosen))
    return sent


def distance_to(outbreak: Outbreak, who: Producer) -> float:
    here = (who.latitude, who.longitude)
    return min(haversine_km(here, place) for place in (outbreak.center, *outbreak.points))


def cluster(centre, problem, members) -> list[PestReport]:
    return [report(reporter, centre, days_ago, *problem, east_km=east, north_km=north)
            for reporter, days_ago, east, north in members]


# Groups of reports of one pest and crop scattered around places close enough to merge (Cajamarca and
# 12 km east of it) or far away, by a few producers who often report more than once, on days in and
# out of the window: dense enough that outbreaks are common, sparse enough that some are not.
CENTRES = [CAJAMARCA, moved(CAJAMARCA, 12, 0), (-12.0651, -75.2049)]
PROBLEMS = [("gusano_cogollero", "maíz"), ("rancha", "papa")]
near_km = st.floats(min_value=-6, max_value=6, allow_nan=False)
member = st.tuples(st.integers(1, 8), st.integers(-1, 7), near_km, near_km)
reports_st = st.lists(st.builds(cluster, centre=st.sampled_from(CENTRES), problem=st.sampled_from(PROBLEMS),
                                members=st.lists(member, min_size=2, max_size=8)),
                      min_size=1, max_size=4).map(lambda groups: [r for group in groups for r in group])
around_km = st.floats(min_value=-12, max_value=12, allow_nan=False)
producers_st = st.lists(st.builds(producer, id=st.integers(1, 20), crop=st.sampled_from(["maíz", "papa", "café"]),
                                  place=st.sampled_from(CENTRES), east_km=around_km, north_km=around_km),
                        min_size=5, max_size=25)
signals_st = st.builds(SignalSettings, min_reporters=st.integers(2, 4), radius_km=st.floats(3, 15),
                       window_days=st.integers(2, 7))


# --- examples ---

def test_three_neighbours_report_cogollero_and_the_fourth_is_alerted_once():
    reports = [report(1, days_ago=2), report(2, days_ago=1, east_km=3), report(3, north_km=-4)]
    producers = [producer(1), producer(2, east_km=3), producer(3, north_km=-4), producer(4, east_km=6),
                 producer(5, crop="papa", east_km=1), producer(6, east_km=30)]
    alerted: set[tuple[str, int]] = set()
    sent = run_signal(reports, producers, alerted)
    assert [chosen.id for _, chosen in sent] == [4]
    outbreak = sent[0][0]
    assert outbreak.reporters == {1, 2, 3} and outbreak.pest == "gusano_cogollero"
    assert (outbreak.first_day, outbreak.last_day) == (TODAY - timedelta(days=2), TODAY)
    text = alert_text(outbreak, "Gusano cogollero")
    assert "3 productores de maíz" in text and "gusano cogollero" in text and len(text) <= 300
    assert run_signal(reports, producers, alerted) == []  # the scheduler runs again: nothing new
    more = reports + [report(7, days_ago=1, north_km=2), report(8, east_km=-2), report(2, east_km=3)]
    assert run_signal(more, producers, alerted) == []  # the outbreak grows: still nothing new


def test_two_reports_are_not_an_outbreak():
    assert find_outbreaks([report(1), report(2, east_km=2)], TODAY, SETTINGS) == []


def test_one_producer_reporting_five_times_counts_once():
    reports = [report(1, days_ago=d) for d in range(5)] + [report(2, east_km=1)]
    assert find_outbreaks(reports, TODAY, SETTINGS) == []
    assert len(find_outbreaks(reports + [report(3, north_km=1)], TODAY, SETTINGS)) == 1


def test_reports_ten_days_apart_are_not_an_outbreak():
    reports = [report(1, days_ago=20), report(2, days_ago=10, east_km=1), report(3, east_km=2)]
    assert find_outbreaks(reports, TODAY, SETTINGS) == []


def test_the_window_ends_today_and_counts_window_days():
    reports = [report(1, days_ago=4), report(2, days_ago=4, east_km=1), report(3, north_km=1)]
    assert len(find_outbreaks(reports, TODAY, SETTINGS)) == 1
    assert find_outbreaks(reports, TODAY + timedelta(days=1), SETTINGS) == []  # the first two are 5 days old
    assert find_outbreaks(reports, TODAY - timedelta(days=1), SETTINGS) == []  # the third is in the future


def test_far_apart_reports_are_not_an_outbreak():
    reports = [report(1), report(2, east_km=12), report(3, east_km=24)]
    assert find_outbreaks(reports, TODAY, SETTINGS) == []


def test_reports_within_the_radius_of_one_report_make_an_outbreak():
    reports = [report(1), report(2, east_km=9), report(3, east_km=-9)]  # 18 km apart, both 9 km from the first
    [outbreak] = find_outbreaks(reports, TODAY, SETTINGS)
    assert outbreak.reporters == {1, 2, 3}


def test_other_pests_and_crops_are_other_outbreaks():
    reports = [report(1), report(2, east_km=1), report(3, pest="rancha", crop="papa", north_km=1)]
    assert find_outbreaks(reports, TODAY, SETTINGS) == []
    mixed = [report(1, crop="Maíz"), report(2, crop="maiz", east_km=1), report(3, crop="MAÍZ", north_km=1)]
    assert len(find_outbreaks(mixed, TODAY, SETTINGS)) == 1  # one crop, however it is written


def test_an_outbreak_that_spreads_alerts_its_new_neighbours_only():
    producers = [producer(10, east_km=5), producer(11, east_km=25), producer(12, east_km=40)]
    alerted: set[tuple[str, int]] = set()
    first = [report(1), report(2, east_km=1), report(3, north_km=1)]
    assert [p.id for _, p in run_signal(first, producers, alerted)] == [10]
    spread = first + [report(4, days_ago=-1, east_km=9), report(5, days_ago=-1, east_km=18)]
    assert [p.id for _, p in run_signal(spread, producers, alerted, TODAY + timedelta(days=1))] == [11]


def test_a_growing_outbreak_that_changes_key_alerts_nobody_twice():
    producers = [producer(10, east_km=6), producer(11, east_km=14)]
    alerted: set[tuple[str, int]] = set()
    west = [report(1, east_km=2), report(2, east_km=3), report(3, east_km=2, north_km=0.5)]
    east = [report(4, east_km=17), report(5, east_km=18), report(6, east_km=17, north_km=0.5)]
    sent = run_signal(west + east, producers, alerted)  # two outbreaks 14 km apart
    assert sorted(p.id for _, p in sent) == [10, 11] and len({o.key for o, _ in sent}) == 2
    # a report in between, dated earlier, merges them into one outbreak with a new key
    merged = west + east + [report(7, days_ago=3, east_km=10)]
    [outbreak] = find_outbreaks(merged, TODAY, SETTINGS)
    assert outbreak.reporters == set(range(1, 8)) and outbreak.key not in {key for key, _ in alerted}
    assert run_signal(merged, producers, alerted) == []
    # six days on, only new reports are in the window: another key, the same outbreak, nobody twice
    later = merged + [report(r, days_ago=-6, east_km=e) for r, e in ((1, 2), (2, 3), (8, 4))]
    [outbreak] = find_outbreaks(later, TODAY + timedelta(days=6), SETTINGS)
    assert outbreak.key not in {key for key, _ in alerted}
    assert run_signal(later, producers, alerted, TODAY + timedelta(days=6)) == []


def test_a_new_outbreak_after_a_quiet_month_alerts_again():
    producers = [producer(10, east_km=5)]
    alerted: set[tuple[str, int]] = set()
    reports = [report(1), report(2, east_km=1), report(3, north_km=1)]
    assert len(run_signal(reports, producers, alerted)) == 1
    later = [PestReport(r.reporter_id, r.pest, r.crop, r.latitude, r.longitude, r.day + timedelta(days=40))
             for r in reports]
    assert run_signal(later, producers, alerted, TODAY + timedelta(days=20)) == []  # nothing in the window
    assert len(run_signal(later, producers, alerted, TODAY + timedelta(days=40))) == 1


def test_the_key_does_not_depend_on_the_order_of_the_reports():
    reports = [report(1, days_ago=1), report(2, east_km=1), report(3, north_km=1), report(4, days_ago=2, east_km=3)]
    keys = [o.key for o in find_outbreaks(reports, TODAY, SETTINGS)]
    assert keys == [o.key for o in find_outbreaks(list(reversed(reports)), TODAY, SETTINGS)]
    assert keys[0].startswith("gusano_cogollero|maiz|2026-03-08|")


def test_haversine():
    assert haversine_km(CAJAMARCA, CAJAMARCA) == 0
    assert haversine_km((0, 0), (1, 0)) == pytest.approx(111.195, abs=0.01)
    lima, cusco = (-12.0464, -77.0428), (-13.5320, -71.9675)
    assert haversine_km(lima, cusco) == pytest.approx(haversine_km(cusco, lima))
    assert 560 < haversine_km(lima, cusco) < 590


@pytest.mark.parametrize("bad", [dict(min_reporters=0), dict(radius_km=0), dict(window_days=0), dict(memory_days=-1)])
def test_settings_are_checked(bad):
    with pytest.raises(ValueError):
        SignalSettings(**bad)


def test_alert_text_dates_and_levels():
    outbreak = Outbreak("rancha", "papa", CAJAMARCA, frozenset({1, 2, 3}), date(2026, 4, 30), date(2026, 5, 2), "k")
    text = alert_text(outbreak, "Rancha o tizón tardío")
    assert "nivel moderado" in text and "entre el 30 de abril y el 2 de mayo" in text and "rancha o tizón" in text
    big = Outbreak("rancha", "papa", CAJAMARCA, frozenset(range(8)), date(2026, 5, 2), date(2026, 5, 2), "k")
    text = alert_text(big, "Rancha o tizón tardío")
    assert "nivel alto" in text and "el 2 de mayo" in text and "SENASA" in text and len(text) <= 300


# --- properties ---

@hypothesis_settings
@given(reports_st, signals_st)
def test_an_outbreak_has_enough_producers_near_each_other_in_the_window(reports, signal):
    for outbreak in find_outbreaks(reports, TODAY, signal):
        assert len(outbreak.reporters) >= signal.min_reporters
        assert TODAY - timedelta(days=signal.window_days) < outbreak.first_day <= outbreak.last_day <= TODAY
        same = [r for r in reports if (r.pest, r.crop) == (outbreak.pest, outbreak.crop)
                and outbreak.first_day <= r.day <= outbreak.last_day]
        assert outbreak.reporters <= {r.reporter_id for r in same}
        # some report of it has min_reporters distinct producers within the radius
        assert any(len({r.reporter_id for r in same if haversine_km(place, (r.latitude, r.longitude))
                        <= signal.radius_km and r.reporter_id in outbreak.reporters}) >= signal.min_reporters
                   for place in outbreak.points)


@hypothesis_settings
@given(reports_st, reports_st, signals_st)
def test_reports_outside_the_window_change_nothing(reports, others, signal):
    outside = [PestReport(r.reporter_id, r.pest, r.crop, r.latitude, r.longitude,
                          TODAY - timedelta(days=signal.window_days + abs((r.day - TODAY).days)))
               for r in others] + [PestReport(r.reporter_id, r.pest, r.crop, r.latitude, r.longitude,
                                              TODAY + timedelta(days=1)) for r in others]
    assert find_outbreaks(outside, TODAY, signal) == []
    assert find_outbreaks(reports + outside, TODAY, signal) == find_outbreaks(reports, TODAY, signal)


@hypothesis_settings
@given(st.lists(st.tuples(st.integers(1, 10), st.integers(0, 4)), max_size=20, unique_by=lambda t: t[0]),
       st.integers(0, 4), signals_st)
def test_reports_farther_apart_than_the_radius_are_never_an_outbreak(reporters, days_ago, signal):
    spacing = signal.radius_km * 1.5  # on a line: every pair is farther apart than the radius
    reports = [report(reporter, east_km=i * spacing, days_ago=day) for i, (reporter, day) in enumerate(reporters)]
    assert find_outbreaks(reports, TODAY, signal) == []


@hypothesis_settings
@given(reports_st, producers_st, signals_st)
def test_alerts_go_to_nearby_producers_of_the_crop_who_did_not_report(reports, producers, signal):
    for outbreak in find_outbreaks(reports, TODAY, signal):
        chosen = producers_to_alert(outbreak, producers, set(), signal)
        assert [p.id for p in chosen] == sorted({p.id for p in chosen})  # each producer once, by id
        for who in chosen:
            assert who.crop == outbreak.crop and who.id not in outbreak.reporters
            assert distance_to(outbreak, who) <= signal.radius_km
        expected = {p.id for p in producers if p.crop == outbreak.crop and p.id not in outbreak.reporters
                    and distance_to(outbreak, p) <= signal.radius_km}
        assert {p.id for p in chosen} == expected  # and nobody eligible is left out


@hypothesis_settings
@given(reports_st, producers_st, signals_st)
def test_running_again_with_the_same_reports_alerts_nobody(reports, producers, signal):
    alerted: set[tuple[str, int]] = set()
    run_signal(reports, producers, alerted, signal=signal)
    assert run_signal(reports, producers, alerted, signal=signal) == []


@hypothesis_settings
@given(reports_st, reports_st, producers_st, signals_st)
def test_more_reports_never_alert_anyone_twice(first, more, producers, signal):
    alerted: set[tuple[str, int]] = set()
    sent = run_signal(first, producers, alerted, signal=signal) + run_signal(first + more, producers, alerted,
                                                                             signal=signal)
    warned = [(chosen.id, outbreak.pest, outbreak.crop) for outbreak, chosen in sent]
    assert len(warned) == len(set(warned))


@hypothesis_settings
@given(st.lists(reports_st, min_size=2, max_size=6), producers_st)
def test_reports_arriving_day_after_day_never_alert_anyone_twice(batches, producers):
    alerted: set[tuple[str, int]] = set()
    seen: list[PestReport] = []
    warned = []
    for day, batch in enumerate(batches):  # each batch is reported on its own day, today moving on
        today = TODAY + timedelta(days=2 * day)
        seen += [PestReport(r.reporter_id, r.pest, r.crop, r.latitude, r.longitude,
                            min(today, r.day + timedelta(days=2 * day))) for r in batch]
        warned += [(chosen.id, o.pest, o.crop) for o, chosen in run_signal(seen, producers, alerted, today)]
    assert len(warned) == len(set(warned))


@hypothesis_settings
@given(st.text(max_size=80), st.text(max_size=40), st.integers(1, 500), st.integers(0, 60), st.integers(0, 400))
def test_alert_text_is_at_most_300_characters(name, crop, count, span, start):
    first = date(2026, 1, 1) + timedelta(days=start)
    outbreak = Outbreak("x", crop, CAJAMARCA, frozenset(range(count)), first, first + timedelta(days=span), "k")
    text = alert_text(outbreak, name)
    assert 0 < len(text) <= 300 and text.startswith("⚠️ Alerta de plaga")
