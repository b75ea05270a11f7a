"""The plan generator's rules as properties over generated runners (goals, race dates, start dates,
weekly volumes of 0-150 km, 2-7 runs a week, levels, paces and injuries), plus a few worked
examples. Each property names the rule it guards (see the module docstring of plans.py)."""
from __future__ import annotations

from dataclasses import fields, replace
from datetime import date, timedelta

import pytest
from hypothesis import given, settings, strategies as st

from backend.plugins.running.fitness import TrainingPaces
from backend.plugins.running.plans import (BUILD_PHASES, FLOOR_KM_PER_RUN, MIN_RUN_KM, QUALITY_KINDS, TAPER_WEEKS, VIEW_WEEKS,
                                           Injury, Plan, RunnerGoal, block, build_plan, todays_run)

# VDOT 50 in Daniels' Table 5.2: E 5:07-5:38, M 4:30, T 4:15, I 3:55, R 3:40 (88 s per 400 m).
VDOT_50 = TrainingPaces(easy_min_s=307, easy_max_s=338, marathon_s=270, threshold_s=255, interval_s=235,
                        repetition_s=220, repetition_400m_s=88)
DANIELS_RACES = ("5K", "10K", "half", "marathon")
RACE_GOALS = ("5K", "10K", "half", "marathon", "ultra", "sprint")
KINDS = {"easy", "long", "tempo", "intervals", "repetitions", "marathon_pace", "back_to_back_long",
         "time_on_feet", "strides", "cross_training", "race"}
SPANISH_OPENINGS = ("Suave", "Fondo", "Tempo", "Series", "Repeticiones", "Velocidad", "Ritmo maratón",
                    "Tiempo en pie", "Bici, elíptica o natación", "Recuperación", "¡Día de carrera!")
PHASE_ORDER = {"base": 0, "quality": 1, "race_specific": 2, "taper": 3}
MONDAY = date(2026, 3, 2)
LONG_AREA = "la parte de atrás del muslo derecho, cerca de la rodilla, cuando subo escaleras o corro en bajada"
TOLERANCE_KM = 0.1  # distances are rounded to 0.1 km

# --- generated runners ------------------------------------------------------------------------------

starts = st.dates(date(2024, 1, 1), date(2032, 12, 31))
levels = st.sampled_from(("beginner", "intermediate", "advanced"))
volumes = st.floats(min_value=0, max_value=150, allow_nan=False)


@st.composite
def paces(draw) -> TrainingPaces | None:
    """Unknown, or VDOT 50 scaled to a slower or faster runner."""
    if draw(st.booleans()):
        return None
    scale = draw(st.floats(min_value=0.75, max_value=1.6))
    return TrainingPaces(*(getattr(VDOT_50, f.name) * scale for f in fields(TrainingPaces)))


@st.composite
def goals(draw, start: date, races=st.sampled_from(("5K", "10K", "half", "marathon", "ultra", "fitness", "sprint")),
          dated: bool | None = None) -> RunnerGoal:
    race = draw(races)
    has_date = draw(st.booleans()) if dated is None else dated
    race_date = start + timedelta(days=draw(st.integers(-40, 200))) if has_date else None
    return RunnerGoal(race, race_date, draw(st.integers(2, 7)), draw(levels))


@st.composite
def injuries(draw, start: date, severity=st.sampled_from(("ache", "injury"))) -> Injury:
    area = draw(st.one_of(st.sampled_from(("rodilla", "tobillo", "gemelo izquierdo", LONG_AREA)),
                          st.text(alphabet="abcdeéilnoóprstuz ", min_size=1, max_size=120)))  # in the runner's words
    return Injury(area, draw(severity), start + timedelta(days=draw(st.integers(-60, 20))))


@st.composite
def runners(draw, races=None, dated=None, injured=st.none(), known_paces=None):
    """(goal, start, paces, current_weekly_km, injury)"""
    start = draw(starts)
    goal = draw(goals(start, dated=dated) if races is None else goals(start, st.sampled_from(races), dated))
    runner_paces = draw(paces()) if known_paces is None else (VDOT_50 if known_paces else None)
    injury = draw(injured)
    if injury == "any":
        injury = draw(st.one_of(st.none(), injuries(start)))
    elif injury in ("ache", "injury"):
        injury = draw(injuries(start, st.just(injury)))
    return goal, start, runner_paces, draw(volumes), injury


any_runner = runners(injured=st.just("any"))
healthy_runner = runners()
racer = runners(races=RACE_GOALS, dated=True)


def plan_of(runner) -> Plan:
    return build_plan(*runner)


def all_runs(plan: Plan):
    return [run for week in plan.weeks for run in week.runs]


def race_week_index(plan: Plan, race_date: date) -> int | None:
    return next((i for i, w in enumerate(plan.weeks) if w.start <= race_date < w.start + timedelta(days=7)), None)


def race_ahead(goal: RunnerGoal, start: date) -> date | None:
    if goal.race != "fitness" and goal.race_date is not None and goal.race_date >= start:
        return goal.race_date
    return None


def race_ahead_in_view(goal: RunnerGoal, start: date) -> bool:
    return race_ahead(goal, start) is not None and goal.race_date < start + timedelta(weeks=VIEW_WEEKS)


def build_weeks(plan: Plan):
    return [w for w in plan.weeks if w.phase in BUILD_PHASES]


# --- sessions -----------------------------------------------------------------------------------------

@given(any_runner)
def test_every_week_has_exactly_the_sessions_asked_for_one_a_day(runner):
    """Runs, cross-training and the race all count as sessions; rest days are left out."""
    goal, start, *_ = runner
    plan = plan_of(runner)
    assert len(plan.weeks) == VIEW_WEEKS
    for i, week in enumerate(plan.weeks):
        assert week.start == start + timedelta(weeks=i)
        days = [run.day for run in week.runs]
        assert len(week.runs) == goal.runs_per_week
        assert len(set(days)) == len(days) and days == sorted(days)
        assert all(week.start <= day < week.start + timedelta(days=7) for day in days)
        assert {run.kind for run in week.runs} <= KINDS


@given(any_runner)
def test_weekly_volume_is_the_sum_of_its_runs_without_the_race(runner):
    for week in plan_of(runner).weeks:
        total = sum(run.distance_km or 0 for run in week.runs if run.kind != "race")
        assert abs(week.volume_km - total) < 0.06
        assert all(run.distance_km is None for run in week.runs if run.kind == "cross_training")
        assert all(run.distance_km > 0 for run in week.runs if run.kind not in ("cross_training", "race"))


@given(healthy_runner)
def test_one_long_run_a_week_and_none_in_the_days_before_the_race(runner):
    goal, start, *_ = runner
    plan = plan_of(runner)
    race = race_ahead(goal, start)
    for week in plan.weeks:
        kinds = [run.kind for run in week.runs]
        assert kinds.count("long") <= 1
        if race is None or not week.start - timedelta(days=6) <= race < week.start + timedelta(days=13):
            assert kinds.count("long") == 1
        if race and week.start <= race < week.start + timedelta(days=7):
            assert kinds.count("race") == 1
    if race:
        assert not [r for r in all_runs(plan) if r.kind == "long" and race - timedelta(days=7) < r.day < race]


@given(any_runner)
def test_quality_is_capped_spaced_and_never_the_day_before_the_long_run(runner):
    goal, *_ = runner
    plan = plan_of(runner)
    most = 1 if goal.level == "beginner" or goal.race == "ultra" else 2
    for week in plan.weeks:
        assert sum(run.kind in QUALITY_KINDS for run in week.runs) <= most
    kinds_by_day = {run.day: run.kind for run in all_runs(plan)}
    for day, kind in kinds_by_day.items():
        if kind in QUALITY_KINDS:
            after, before = kinds_by_day.get(day + timedelta(days=1)), kinds_by_day.get(day - timedelta(days=1))
            assert after not in QUALITY_KINDS and before not in QUALITY_KINDS
            assert after not in ("long", "race")  # fresh legs for the long run and the race
            assert before not in ("long", "race")  # and not on their tired legs either


@given(runners(injured=st.just("any"), known_paces=True))
def test_every_session_runs_at_the_runners_own_paces(runner):
    paces = runner[2]

    def clock(seconds: float) -> str:
        return f"{int(round(seconds)) // 60}:{int(round(seconds)) % 60:02d}"

    easy = f"{clock(paces.easy_min_s)}–{clock(paces.easy_max_s)}/km"
    expected = {"tempo": clock(paces.threshold_s), "intervals": clock(paces.interval_s),
                "repetitions": clock(paces.repetition_s), "marathon_pace": clock(paces.marathon_s),
                "easy": easy, "long": easy, "back_to_back_long": easy, "strides": easy,
                "time_on_feet": clock(paces.easy_max_s)}
    for run in all_runs(plan_of(runner)):
        if run.kind in expected:
            assert expected[run.kind] in run.pace and "/km" in run.pace
            assert run.duration_min and run.duration_min > 0


@given(any_runner)
def test_descriptions_are_short_spanish_and_carry_the_pace(runner):
    for run in all_runs(plan_of(runner)):
        assert 0 < len(run.description_es) <= 160
        assert run.description_es.startswith(SPANISH_OPENINGS)
        assert run.pace and run.pace in run.description_es


# --- phases, race and taper ----------------------------------------------------------------------------

@given(runners(races=RACE_GOALS, dated=True, injured=st.sampled_from([None, "ache"])))
def test_phases_go_base_quality_race_specific_then_a_taper_that_grows_with_distance(runner):
    goal, start, *_ = runner
    plan = plan_of(runner)
    race_week = race_week_index(plan, goal.race_date)
    if goal.race_date < start:
        assert "taper" not in [w.phase for w in plan.weeks]
        return
    last = race_week if race_week is not None else VIEW_WEEKS - 1
    ranks = [PHASE_ORDER[w.phase] for w in plan.weeks[:last + 1]]
    assert ranks == sorted(ranks)
    taper = [i for i, w in enumerate(plan.weeks) if w.phase == "taper"]
    if race_week is not None:
        assert taper == list(range(max(0, race_week - TAPER_WEEKS[goal.race] + 1), race_week + 1))
        assert all(w.phase == "recovery" for w in plan.weeks[race_week + 1:race_week + 2])
    else:
        weeks_left = (goal.race_date - start).days // 7 - len(plan.weeks) + 1
        assert len(taper) == max(0, TAPER_WEEKS[goal.race] - weeks_left)


@given(runners(races=RACE_GOALS, dated=True, injured=st.sampled_from([None, "ache"])))
def test_taper_volume_drops_and_never_rises(runner):
    plan = plan_of(runner)
    taper = [i for i, w in enumerate(plan.weeks) if w.phase == "taper"]
    volumes = [plan.weeks[i].volume_km for i in taper]
    assert volumes == sorted(volumes, reverse=True)
    if taper and taper[0] > 0:
        peak = plan.weeks[taper[0] - 1].volume_km
        assert all(volume <= 0.85 * peak + TOLERANCE_KM for volume in volumes)


@given(runners(injured=st.sampled_from([None, "ache"])))
def test_the_race_day_is_in_the_plan_when_it_is_in_view(runner):
    goal, start, *_ = runner
    races = [run for run in all_runs(plan_of(runner)) if run.kind == "race"]
    if race_ahead_in_view(goal, start):
        assert [run.day for run in races] == [goal.race_date]
    else:
        assert races == []


@given(runners(dated=False, injured=st.just("any")))
def test_without_a_race_date_there_is_no_taper_and_no_race(runner):
    plan = plan_of(runner)
    assert "taper" not in {w.phase for w in plan.weeks}
    assert "race" not in {run.kind for run in all_runs(plan)}


# --- volume ---------------------------------------------------------------------------------------------

@given(healthy_runner)
def test_volume_rises_at_most_10_percent_a_week_outside_cutback_recovery(runner):
    goal, _, _, current, _ = runner
    plan = plan_of(runner)
    reference = max(current, FLOOR_KM_PER_RUN[goal.level] * goal.runs_per_week)  # last non-cutback week
    for previous, week in zip(plan.weeks, plan.weeks[1:]):
        reference = reference if previous.cutback else previous.volume_km
        if week.phase in BUILD_PHASES:
            assert week.volume_km <= 1.10 * reference + TOLERANCE_KM


@given(healthy_runner)
def test_the_first_week_starts_from_the_current_volume_with_a_floor(runner):
    goal, start, _, current, _ = runner
    first = plan_of(runner).weeks[0]
    floor = FLOOR_KM_PER_RUN[goal.level] * goal.runs_per_week
    assert first.volume_km <= max(1.10 * current, floor) + TOLERANCE_KM
    if first.phase in BUILD_PHASES and not first.cutback:
        assert first.volume_km >= min(max(1.10 * current, floor), 5 * goal.runs_per_week) - TOLERANCE_KM
    if first.cutback:
        assert first.volume_km <= 0.8 * max(current, floor) + TOLERANCE_KM


@given(healthy_runner)
def test_a_cutback_week_comes_every_third_or_fourth_building_week(runner):
    """At most 3 building weeks in a row without one, and at least 2 between two of them (the
    weeks before the plan are unknown, so its first cutback may come at once)."""
    plan = plan_of(runner)
    streak, seen_cutback = 0, False  # building weeks in a row without a cutback
    for previous, week in zip((None,) + plan.weeks, plan.weeks):
        if week.phase not in BUILD_PHASES:
            streak, seen_cutback = 0, False
        elif week.cutback:
            assert streak >= 2 or not seen_cutback
            if previous is not None and previous.phase in BUILD_PHASES:
                assert week.volume_km <= 0.8 * previous.volume_km + TOLERANCE_KM
            streak, seen_cutback = 0, True
        else:
            streak += 1
            assert streak <= 3


# --- methodology by goal ------------------------------------------------------------------------------------

@given(runners(races=DANIELS_RACES + ("fitness",)))
def test_5k_to_marathon_train_with_daniels_e_m_t_i_r(runner):
    goal, *_ = runner
    plan = plan_of(runner)
    kinds = {run.kind for run in all_runs(plan)}
    assert kinds <= {"easy", "long", "strides", "cross_training", "race"} | QUALITY_KINDS
    if goal.race != "marathon":
        assert "marathon_pace" not in kinds
    for week in plan.weeks:  # phase I is easy running and strides only
        if week.phase in ("base", "recovery"):
            assert not {run.kind for run in week.runs} & QUALITY_KINDS


@given(runners(races=("ultra",)))
def test_ultra_runs_back_to_back_long_runs_and_time_on_feet_not_intervals(runner):
    goal, start, *_ = runner
    plan = plan_of(runner)
    runs = all_runs(plan)
    assert not {run.kind for run in runs} & {"intervals", "repetitions", "marathon_pace"}
    kinds_by_day = {run.day: run.kind for run in runs}
    first, last = plan.weeks[0].start, plan.weeks[-1].start + timedelta(days=6)
    for run in runs:
        if run.kind == "long":
            after = run.day + timedelta(days=1)
            assert after > last or kinds_by_day.get(after) == "back_to_back_long"
            if goal.race_date is None or goal.race_date < start:  # no race ahead to rehearse its weekday
                assert run.day.weekday() == 5  # Saturday and Sunday
        if run.kind == "back_to_back_long":
            before = run.day - timedelta(days=1)
            assert before < first or kinds_by_day.get(before) == "long"
    race = race_ahead(goal, start)
    for week in plan.weeks:
        kinds = {run.kind for run in week.runs}
        near_race = race is not None and week.start - timedelta(days=6) <= race < week.start + timedelta(days=13)
        if goal.runs_per_week >= 4 and week.phase != "recovery" and not near_race:
            assert "time_on_feet" in kinds


@given(runners(races=("sprint",)))
def test_sprint_is_short_speed_and_technique_at_low_volume(runner):
    goal, *_ = runner
    plan = plan_of(runner)
    assert not {run.kind for run in all_runs(plan)} & {"tempo", "intervals", "marathon_pace", "time_on_feet"}
    for week in plan.weeks:
        assert week.volume_km <= 5 * goal.runs_per_week + 2 + TOLERANCE_KM
        assert all(run.distance_km <= 7 + TOLERANCE_KM for run in week.runs if run.kind not in ("race",))
        if week.phase != "recovery":
            assert {run.kind for run in week.runs} & {"strides", "repetitions", "race"}
    for run in all_runs(plan):
        if run.kind == "repetitions":
            assert "× 150 m" in run.description_es or "× 200 m" in run.description_es


# --- injuries ------------------------------------------------------------------------------------------------

@given(runners(injured=st.just("ache")))
def test_an_ache_cuts_volume_by_30_percent_and_removes_quality(runner):
    plan, healthy = plan_of(runner), plan_of(runner[:4] + (None,))
    assert not {run.kind for run in all_runs(plan)} & (QUALITY_KINDS | {"strides"})
    for week, normal in zip(plan.weeks, healthy.weeks):
        assert week.volume_km <= 0.7 * normal.volume_km + TOLERANCE_KM
        assert week.phase == normal.phase


@given(runners(injured=st.just("injury")))
def test_an_injury_means_cross_training_then_easy_running_at_half_volume_and_no_race(runner):
    injury = runner[4]
    plan, healthy = plan_of(runner), plan_of(runner[:4] + (None,))
    for week, normal in zip(plan.weeks, healthy.weeks):
        kinds = {run.kind for run in week.runs}
        assert kinds <= {"cross_training", "easy"}
        if (week.start - injury.since).days < 14:
            assert kinds == {"cross_training"}
        assert week.volume_km <= 0.5 * normal.volume_km + TOLERANCE_KM
        assert week.phase == "recovery" and not week.cutback
        assert all(run.distance_km >= MIN_RUN_KM for run in week.runs if run.kind == "easy")


# --- blocks and days -----------------------------------------------------------------------------------------

@settings(max_examples=50)
@given(any_runner, st.integers(-3, 60))
def test_a_block_is_the_14_days_from_its_start_and_today_is_one_of_them(runner, offset):
    plan = plan_of(runner)
    first = runner[1] + timedelta(days=offset)
    runs = block(plan, first)
    assert runs == sorted((r for r in all_runs(plan) if first <= r.day < first + timedelta(days=14)),
                          key=lambda r: r.day)
    for day in (first + timedelta(days=i) for i in range(14)):
        assert todays_run(plan, day) == next((r for r in runs if r.day == day), None)


# --- worked examples ---------------------------------------------------------------------------------------------

def test_a_marathon_eight_weeks_out_tapers_for_three_weeks_into_race_day():
    race = MONDAY + timedelta(weeks=8, days=6)  # a Sunday
    plan = build_plan(RunnerGoal("marathon", race, 5, "intermediate"), MONDAY, VDOT_50, 40)
    # six weeks before the taper instead of fifteen: every phase shrinks alike
    assert [w.phase for w in plan.weeks] == ["base", "base", "quality", "quality", "race_specific",
                                             "race_specific", "taper", "taper", "taper"]
    assert [w.cutback for w in plan.weeks] == [False, False, True] + [False] * 6  # 4th week before the taper
    taper = [w.volume_km for w in plan.weeks[6:]]
    assert taper == sorted(taper, reverse=True) and taper[0] < plan.weeks[5].volume_km
    assert todays_run(plan, race).kind == "race" and todays_run(plan, race).distance_km == 42.2
    assert "4:30/km" in todays_run(plan, race).description_es
    assert {r.kind for r in plan.weeks[4].runs} >= {"marathon_pace", "tempo", "long"}
    assert all(r.day.weekday() == 6 for w in plan.weeks[:8] for r in w.runs if r.kind == "long")


def test_an_ache_swaps_quality_for_easy_running():
    goal = RunnerGoal("10K", MONDAY + timedelta(weeks=10, days=6), 5, "advanced")
    healthy = build_plan(goal, MONDAY, VDOT_50, 50)
    aching = build_plan(goal, MONDAY, VDOT_50, 50, Injury("rodilla", "ache", MONDAY))
    assert {r.kind for r in all_runs(healthy)} & QUALITY_KINDS
    assert not {r.kind for r in all_runs(aching)} & QUALITY_KINDS
    assert [w.volume_km for w in aching.weeks] == pytest.approx([0.7 * w.volume_km for w in healthy.weeks], abs=0.1)
    assert "rodilla" in aching.weeks[0].runs[0].description_es


def test_an_injury_rests_two_weeks_then_returns_gently_and_quality_comes_back_without_it():
    goal = RunnerGoal("marathon", None, 4, "intermediate")
    injured = build_plan(goal, MONDAY, VDOT_50, 0, Injury("tobillo", "injury", MONDAY))
    assert {r.kind for w in injured.weeks[:2] for r in w.runs} == {"cross_training"}
    assert [r.kind for r in injured.weeks[2].runs] == ["easy", "cross_training", "easy", "cross_training"]
    recovered = build_plan(goal, MONDAY, VDOT_50, 0)
    assert {r.kind for r in recovered.weeks[1].runs} & QUALITY_KINDS  # a runner with paces starts on quality


def test_sessions_read_as_a_coach_would_write_them():
    plan = build_plan(RunnerGoal("half", None, 4, "intermediate"), MONDAY, VDOT_50, 40)
    texts = {r.kind: r.description_es for r in plan.weeks[0].runs}
    assert texts["tempo"].startswith("Tempo: ") and "km a 4:15/km" in texts["tempo"]
    assert texts["intervals"].startswith("Series: ") and "m a 3:55/km" in texts["intervals"]
    assert texts["long"].startswith("Fondo: ") and "a 5:07–5:38/km" in texts["long"]
    unknown = build_plan(RunnerGoal("half", None, 4, "intermediate"), MONDAY, None, 40)
    assert "a ritmo cómodamente duro" in {r.kind: r.description_es for r in unknown.weeks[0].runs}["tempo"]


def test_a_beginner_without_a_base_builds_one_first_and_no_race_means_no_taper():
    plan = build_plan(RunnerGoal("fitness", MONDAY + timedelta(days=30), 3, "beginner"), MONDAY, None, 0)
    assert [w.phase for w in plan.weeks[:4]] == ["base", "base", "base", "quality"]
    assert plan.weeks[0].volume_km == 9.0  # the floor: 3 km a run
    assert "taper" not in {w.phase for w in plan.weeks}


@pytest.mark.parametrize("change", [
    {"race": "trail"}, {"level": "elite"}, {"runs_per_week": 1}, {"runs_per_week": 8}])
def test_goals_it_cannot_plan_are_refused(change):
    goal = replace(RunnerGoal("5K", None, 3, "beginner"), **change)
    with pytest.raises(ValueError):
        build_plan(goal, MONDAY, None, 10)


def test_bad_volumes_and_injuries_are_refused():
    goal = RunnerGoal("5K", None, 3, "beginner")
    with pytest.raises(ValueError):
        build_plan(goal, MONDAY, None, -1)
    with pytest.raises(ValueError):
        build_plan(goal, MONDAY, None, 10, Injury("rodilla", "broken", MONDAY))
