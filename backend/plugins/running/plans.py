"""Training plans for the running coach: a rolling nine-week view (about two months) toward the
runner's goal, read in 14-day blocks. A pure library: dates, paces and numbers in, plan out.

Sources: Jack Daniels, *Daniels' Running Formula*, 3rd ed. (Human Kinetics, 2014): the E/M/T/I/R
intensities, the four training phases, the per-session limits on quality work (T <= 10 %, I <= 8 %
and 10 km, R <= 5 % and 8 km, M <= 20 % and 29 km of the week), the long run (<= 25-30 % of the week
and <= 150 min), one easy day per ~3 km raced after a race. The 10 % rule is a rule of thumb, not
science; cutback weeks and taper sizes are common coaching practice.

The rules as implemented:

- Weeks. Week i covers start + 7 i .. start + 7 i + 6 (the caller starts plans on Mondays). Days are
  laid out by weekday around an anchor: the race's weekday when the race lies ahead, else Sunday.
  The long run falls on the anchor (ultra: the long run the day before, the back-to-back long run
  on the anchor: Saturday + Sunday), so the race replaces the long run of its week. In the six
  days before the race (whichever plan weeks they fall in) there is no long run and one quality
  session at most, 3-5 days out; after it, in its week, only recovery (easy runs after a 5K, 10K
  or sprint race, cross-training after longer ones).
- Sessions. Every week has exactly `runs_per_week` sessions, and everything scheduled counts as
  one: runs, strides, cross-training (injury or post-race) and the race itself. Rest days are
  omitted. At most one session a day.
- Phases toward a race (Daniels' phases I-IV): base (easy + strides) -> quality (R/I) ->
  race_specific (I/T, T/M for the half and the marathon) -> taper, the last TAPER_WEEKS weeks up to
  and including the race week (5K, 10K, sprint 1; half 2; marathon, ultra 3). When there are fewer
  weeks than NOMINAL_PHASES, all phases shrink in proportion. After the race: recovery weeks
  (RECOVERY_WEEKS, easy running only), then base and quality again. No race date (or "fitness"):
  no taper; beginners without a base (under 4 km a session) get 3 base weeks, everyone else
  starts with quality.
- Quality (tempo, intervals, repetitions, marathon_pace): at most 2 a week (1 for beginners and
  ultra runners), at fixed weekdays two days apart (Tue/Thu for a Sunday long run), so never on
  consecutive days, never the day after or the day before the long run or the race. At the
  runner's paces when known, by effort otherwise.
  A slot too short for its workout (under 4 km) becomes easy running with strides.
- Volume. The first week starts from current_weekly_km (floor: 3 km a session for beginners, 5
  intermediate, 7 advanced, so a runner with nothing logged yet gets a real week), 10 % up when it
  is a building week; building weeks rise at most 10 % over the last non-cutback week; every 4th
  building week is a cutback (-25 %), counted back from the taper so the peak week leads into it;
  taper weeks drop 22 % a week from that peak; a recovery week is 10 % under the week before.
  Weekly volume (`volume_km`) is the training distance planned, without the race itself. Runs are
  capped by level (long run also <= 150 min at E pace) and never under 2 km in a healthy week.
- Goal: 5K-marathon follow Daniels' E/M/T/I/R; ultra: back-to-back long runs on the weekend, a
  midweek time-on-feet session, threshold as its only quality, no I/R; sprint: short fast
  repetitions (150-200 m), strides and technique, low volume (runs capped at 5 km, long at 7 km).
- Injury (until the caller passes injury=None again): an ache keeps the plan at 70 % volume (every
  run 70 % of its healthy distance, no 2 km minimum) with every quality and strides session
  swapped for easy running and a "para si duele" note; an injury means cross-training only
  for its first 14 days, then half the sessions easy running (<= 6 km each, <= 50 % of the volume)
  and the rest cross-training, phase "recovery", and no race in the plan. Runs such a returning
  week would make under 2 km become cross-training.
- Text: every session has a short Spanish description (<= 160 chars) that contains its pace text.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, timedelta

from backend.plugins.running.fitness import TrainingPaces
from backend.spanish import decimal

RACES = ("5K", "10K", "half", "marathon", "ultra", "fitness", "sprint")
LEVELS = ("beginner", "intermediate", "advanced")
SEVERITIES = ("ache", "injury")
QUALITY_KINDS = frozenset({"tempo", "intervals", "repetitions", "marathon_pace"})
BUILD_PHASES = ("base", "quality", "race_specific")

VIEW_WEEKS = 9  # a rolling two months
BLOCK_DAYS = 14
SUNDAY = 6
MIN_RUNS, MAX_RUNS = 2, 7

TAPER_WEEKS = {"5K": 1, "10K": 1, "sprint": 1, "half": 2, "marathon": 3, "ultra": 3}
RECOVERY_WEEKS = {"5K": 1, "10K": 1, "sprint": 1, "half": 1, "marathon": 2, "ultra": 3}  # ~1 easy day per 3 km
NOMINAL_PHASES = {  # weeks of (base, quality, race_specific) before the taper, when there is time
    "5K": (4, 4, 3), "10K": (4, 4, 4), "half": (4, 4, 5), "marathon": (4, 5, 6), "ultra": (4, 5, 6),
    "sprint": (3, 4, 3)}
CUTBACK_EPOCH = date(2024, 1, 1)  # a Monday
OPEN_BASE_WEEKS = 3  # no race: a beginner's first weeks of easy running and strides
POST_RACE_BASE_WEEKS = 2
HAS_BASE_KM_PER_RUN = 4.0
WORKOUTS = {  # Daniels' emphasis per phase; the first is the one beginners get
    "5K": {"quality": ("repetitions", "intervals"), "race_specific": ("intervals", "tempo"),
           "taper": ("intervals", "repetitions")},
    "10K": {"quality": ("repetitions", "intervals"), "race_specific": ("tempo", "intervals"),
            "taper": ("tempo", "repetitions")},
    "half": {"quality": ("intervals", "tempo"), "race_specific": ("tempo", "intervals"),
             "taper": ("tempo", "intervals")},
    "marathon": {"quality": ("intervals", "tempo"), "race_specific": ("marathon_pace", "tempo"),
                 "taper": ("marathon_pace", "tempo")},
    "ultra": {"quality": ("tempo",), "race_specific": ("tempo",), "taper": ("tempo",)},
    "fitness": {"quality": ("tempo", "repetitions")},
    "sprint": {"quality": ("repetitions",), "race_specific": ("repetitions",), "taper": ("repetitions",)},
}

WEEKLY_RISE = 1.10  # the 10 % rule
CUTBACK_EVERY = 4
CUTBACK_FACTOR = 0.75
TAPER_DROP = 0.78  # -22 % a taper week
RECOVERY_FACTOR = 0.90
ACHE_FACTOR = 0.70
INJURY_FACTOR = 0.50
ACUTE_INJURY_DAYS = 14
FLOOR_KM_PER_RUN = {"beginner": 3.0, "intermediate": 5.0, "advanced": 7.0}  # a new runner's first weeks
MIN_RUN_KM = 2.0
QUALITY_MIN_KM = 4.0  # 1 km to warm up, 1 to cool down, and room for the work
WARM_KM = 2.0  # warm-up plus cool-down, at least

EASY_CAP_KM = {"beginner": 10.0, "intermediate": 14.0, "advanced": 18.0}
LONG_CAP_KM = {"beginner": 21.0, "intermediate": 30.0, "advanced": 35.0}
ULTRA_LONG_CAP_KM = {"beginner": 30.0, "intermediate": 40.0, "advanced": 50.0}
SPRINT_EASY_CAP_KM, SPRINT_LONG_CAP_KM = 5.0, 7.0
POST_RACE_CAP_KM, INJURY_RUN_CAP_KM = 5.0, 6.0
LONG_RUN_MAX_MIN = 150.0  # Daniels: longer adds fatigue more than fitness
BACK_TO_BACK_SHARE = 0.7  # the second weekend day, against the first
SPRINT_REPS = {"beginner": (6, 150), "intermediate": (8, 200), "advanced": (10, 200)}

# Positions are days after the anchor (0 = long run day, 6 = the day before it).
ORDER = (0, 2, 4, 6, 5, 1, 3)  # which days to use first: the long run, then the quality days
ULTRA_ORDER = (6, 0, 2, 4, 1, 3, 5)
TWO_RUN_ORDER = (0, 3)
LONG_POSITION, ULTRA_LONG_POSITION, ULTRA_BACK_TO_BACK_POSITION, TIME_ON_FEET_POSITION = 0, 6, 0, 4

RACE_KM = {"5K": 5.0, "10K": 10.0, "half": 21.1, "marathon": 42.2}
RACE_NAMES_ES = {"5K": "5K", "10K": "10K", "half": "Media maratón", "marathon": "Maratón", "ultra": "Ultra",
                 "sprint": "Velocidad"}
RACE_PACE = {"5K": ("interval_s", 1.02), "10K": ("threshold_s", 0.975), "half": ("threshold_s", 1.02),
             "marathon": ("marathon_s", 1.0)}  # close to Daniels' Table 5.1 race paces per VDOT
EFFORT_ES = {  # pace text when the runner's paces are unknown
    "easy": "a ritmo cómodo (puedes conversar)", "tempo": "a ritmo cómodamente duro",
    "intervals": "a ritmo fuerte (te cuesta hablar)", "repetitions": "rápido y suelto",
    "marathon_pace": "a ritmo de maratón, firme", "time_on_feet": "a ritmo cómodo",
    "cross_training": "esfuerzo suave, sin dolor", "race": "a tu ritmo de carrera"}
ULTRA_RACE_ES = "a ritmo cómodo, comiendo y bebiendo desde el inicio"
SPRINT_RACE_ES = "a tope, con buena técnica"
AREA_MAX_CHARS = 24
UNKNOWN_PACE_MIN_PER_KM = 7.0  # time on feet without paces: a jog-walk


@dataclass(frozen=True)
class RunnerGoal:
    race: str  # one of RACES
    race_date: date | None
    runs_per_week: int  # 2..7
    level: str  # one of LEVELS


@dataclass(frozen=True)
class Injury:
    area: str
    severity: str  # "ache" | "injury"
    since: date


@dataclass(frozen=True)
class PlannedRun:
    day: date
    kind: str  # easy, long, tempo, intervals, repetitions, marathon_pace, back_to_back_long, time_on_feet,
    #            strides, cross_training, race (rest days are omitted)
    distance_km: float | None
    duration_min: float | None
    pace: str  # "5:07–5:38/km", or an effort in Spanish when paces are unknown
    description_es: str


@dataclass(frozen=True)
class Week:
    start: date
    phase: str  # base, quality, race_specific, taper, recovery
    volume_km: float  # training km planned, the race itself excluded
    cutback: bool
    runs: tuple[PlannedRun, ...]


@dataclass(frozen=True)
class Plan:
    weeks: tuple[Week, ...]


# --- internal records -------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Frame:
    """What the calendar says about a week, before any session is laid out."""
    start: date
    phase: str
    cutback: bool
    taper_step: int = 0  # 1 = first taper week


@dataclass(frozen=True)
class _Session:
    day: date
    kind: str
    post_race: bool = False


@dataclass(frozen=True)
class _Context:
    goal: RunnerGoal
    paces: TrainingPaces | None
    race_day: date | None  # None: no race ahead or behind
    anchor: int  # weekday of the long run


# --- public API -------------------------------------------------------------------------------------

def build_plan(goal: RunnerGoal, start: date, paces: TrainingPaces | None, current_weekly_km: float,
               injury: Injury | None = None) -> Plan:
    """The rolling nine-week plan from `start`. ValueError on a goal or injury it cannot plan."""
    _validate(goal, current_weekly_km, injury)
    race_day = goal.race_date if goal.race != "fitness" else None
    anchor = race_day.weekday() if race_day and race_day >= start else SUNDAY
    ctx = _Context(goal, paces, race_day, anchor)
    frames = [_frame(ctx, start, i, current_weekly_km) for i in range(VIEW_WEEKS)]
    healthy = _healthy_volumes(ctx, frames, current_weekly_km)
    return Plan(tuple(_week(ctx, frame, km, injury) for frame, km in zip(frames, healthy)))


def block(plan: Plan, start: date) -> list[PlannedRun]:
    """The sessions of the 14 days from `start`, in order."""
    end = start + timedelta(days=BLOCK_DAYS)
    return sorted((run for week in plan.weeks for run in week.runs if start <= run.day < end), key=lambda r: r.day)


def todays_run(plan: Plan, day: date) -> PlannedRun | None:
    """The session planned for `day`, or None on a rest day or outside the plan."""
    return next((run for week in plan.weeks for run in week.runs if run.day == day), None)


def _validate(goal: RunnerGoal, current_weekly_km: float, injury: Injury | None) -> None:
    if goal.race not in RACES:
        raise ValueError(f"unknown goal race {goal.race!r}; expected one of {RACES}")
    if goal.level not in LEVELS:
        raise ValueError(f"unknown level {goal.level!r}; expected one of {LEVELS}")
    if not MIN_RUNS <= goal.runs_per_week <= MAX_RUNS:
        raise ValueError(f"runs_per_week must be {MIN_RUNS}..{MAX_RUNS}, got {goal.runs_per_week}")
    if not (math.isfinite(current_weekly_km) and current_weekly_km >= 0):
        raise ValueError(f"current_weekly_km must be a non-negative number, got {current_weekly_km!r}")
    if injury is not None and injury.severity not in SEVERITIES:
        raise ValueError(f"unknown injury severity {injury.severity!r}; expected one of {SEVERITIES}")


# --- phases: what each week is for --------------------------------------------------------------------

def _frame(ctx: _Context, start: date, index: int, current_km: float) -> _Frame:
    week_start = start + timedelta(weeks=index)
    if ctx.race_day is None:
        return _open_frame(ctx.goal, week_start, index, current_km)
    race_week = (ctx.race_day - start).days // 7
    if index > race_week:
        return _post_race_frame(ctx.goal, week_start, index - race_week)
    return _pre_race_frame(ctx.goal.race, week_start, race_week - index, race_week + 1)


def _open_frame(goal: RunnerGoal, week_start: date, index: int, current_km: float) -> _Frame:
    """No race: a beginner without a base builds one first. Cutbacks follow the calendar, so a plan
    rebuilt every week still has one every 4th week."""
    weeks_since_epoch = (week_start - CUTBACK_EPOCH).days // 7
    has_base = goal.level != "beginner" or current_km >= HAS_BASE_KM_PER_RUN * goal.runs_per_week
    base = not has_base and index < OPEN_BASE_WEEKS
    return _Frame(week_start, "base" if base else "quality", weeks_since_epoch % CUTBACK_EVERY == CUTBACK_EVERY - 1)


def _post_race_frame(goal: RunnerGoal, week_start: date, weeks_after: int) -> _Frame:
    rebuild = weeks_after - RECOVERY_WEEKS[goal.race] - 1
    if rebuild < 0:
        return _Frame(week_start, "recovery", False)
    phase = "base" if rebuild < POST_RACE_BASE_WEEKS else "quality"
    return _Frame(week_start, phase, rebuild % CUTBACK_EVERY == CUTBACK_EVERY - 1)


def _pre_race_frame(race: str, week_start: date, weeks_to_race: int, plan_weeks_to_race: int) -> _Frame:
    """plan_weeks_to_race: the weeks from the plan's start through the race week, which set the runway."""
    taper = TAPER_WEEKS[race]
    if weeks_to_race < taper:
        return _Frame(week_start, "taper", False, taper - weeks_to_race)
    before_taper = weeks_to_race - taper + 1  # 1 = the peak week right before the taper
    quality, specific = _phase_lengths(race, plan_weeks_to_race - taper)
    phase = ("race_specific" if before_taper <= specific else
             "quality" if before_taper <= specific + quality else "base")
    return _Frame(week_start, phase, before_taper % CUTBACK_EVERY == 0)


def _phase_lengths(race: str, weeks_before_taper: int) -> tuple[int, int]:
    """Weeks of quality and race-specific work; short runways shrink every phase alike."""
    base, quality, specific = NOMINAL_PHASES[race]
    total = base + quality + specific
    if weeks_before_taper >= total:
        return quality, specific
    scale = weeks_before_taper / total
    specific = max(1, round(specific * scale))
    return min(round(quality * scale), weeks_before_taper - specific), specific


# --- sessions: which day holds what --------------------------------------------------------------------

def _days_by_position(ctx: _Context, week_start: date) -> dict[int, date]:
    days = (week_start + timedelta(days=offset) for offset in range(7))
    return {(day.weekday() - ctx.anchor) % 7: day for day in days}


def _positions(goal: RunnerGoal) -> tuple[int, ...]:
    if goal.race == "ultra":
        return ULTRA_ORDER[:goal.runs_per_week]
    return TWO_RUN_ORDER if goal.runs_per_week == 2 else ORDER[:goal.runs_per_week]


def _quality_positions(goal: RunnerGoal) -> tuple[int, ...]:
    """Two days apart, never next to the long run."""
    if goal.race == "ultra":
        return (2,)
    return (3,) if goal.runs_per_week == 2 else (2, 4)


def _quality_per_week(goal: RunnerGoal) -> int:
    return 1 if goal.level == "beginner" or goal.race == "ultra" else 2


def _workouts(goal: RunnerGoal, phase: str) -> tuple[str, ...]:
    """The sessions for the quality days of a week in this phase."""
    if phase == "recovery":
        return ()
    if phase == "base":  # Daniels' phase I: easy running plus strides
        return ("strides",) * (2 if goal.race == "sprint" else 1)
    menu = WORKOUTS[goal.race].get(phase, WORKOUTS[goal.race]["quality"])
    return tuple(menu[i % len(menu)] for i in range(_quality_per_week(goal)))


def _ordinary_kinds(goal: RunnerGoal, phase: str) -> dict[int, str]:
    """Kinds by position for a week without a race in it."""
    positions = _positions(goal)
    kinds = {position: "easy" for position in positions}
    if goal.race == "ultra":
        kinds[ULTRA_LONG_POSITION], kinds[ULTRA_BACK_TO_BACK_POSITION] = "long", "back_to_back_long"
        if TIME_ON_FEET_POSITION in kinds and phase != "recovery":
            kinds[TIME_ON_FEET_POSITION] = "time_on_feet"
    else:
        kinds[LONG_POSITION] = "long"
    quality_days = [p for p in _quality_positions(goal) if p in kinds]
    for position, kind in zip(quality_days, _workouts(goal, phase)):
        kinds[position] = kind
    if goal.race == "sprint" and phase != "recovery":  # technique on one more day when there is one
        spare = next((p for p in positions if kinds[p] == "easy"), None)
        if spare is not None:
            kinds[spare] = "strides"
    return kinds


def _sessions(ctx: _Context, frame: _Frame) -> list[_Session]:
    days = _days_by_position(ctx, frame.start)
    sessions = [_Session(days[p], kind) for p, kind in _ordinary_kinds(ctx.goal, frame.phase).items()]
    if ctx.race_day is not None:
        sessions = [_around_race(ctx, s, frame.start) for s in sessions]
    return sorted(sessions, key=lambda s: s.day)


def _around_race(ctx: _Context, session: _Session, week_start: date) -> _Session:
    """The race takes the long run's day. In the six days before it, whichever weeks they fall in:
    no long run and one sharpening session at most (the earliest quality day, >= 3 days out).
    After it, in its week: recovery only."""
    days_to_race = (ctx.race_day - session.day).days
    race_week = week_start <= ctx.race_day < week_start + timedelta(days=7)
    if days_to_race == 0:
        return replace(session, kind="race")
    if days_to_race < 0 and race_week:
        long_race = ctx.goal.race in ("half", "marathon", "ultra")
        return _Session(session.day, "cross_training" if long_race else "easy", post_race=True)
    if 0 < days_to_race < 7 and _demoted_before_race(ctx, session, days_to_race):
        return replace(session, kind="easy")
    if session.kind == "back_to_back_long" and days_to_race == -7 and session.day == week_start:
        return replace(session, kind="easy")  # its long run, the day before, was in the race week
    return session


def _demoted_before_race(ctx: _Context, session: _Session, days_to_race: int) -> bool:
    if session.kind in ("long", "back_to_back_long", "time_on_feet"):
        return True
    sharpening_day = 7 - min(_quality_positions(ctx.goal))  # days before the race
    return session.kind in QUALITY_KINDS and days_to_race != sharpening_day


# --- injuries -----------------------------------------------------------------------------------------

def _injury_mode(injury: Injury | None, week_start: date) -> str | None:
    if injury is None:
        return None
    if injury.severity == "ache":
        return "ache"
    return "acute" if (week_start - injury.since).days < ACUTE_INJURY_DAYS else "returning"


def _injured(sessions: list[_Session], mode: str | None) -> list[_Session]:
    """Same number of sessions, lower intensity: quality and strides become easy running (ache),
    everything becomes cross-training (acute injury), or every other session does (returning)."""
    if mode is None:
        return sessions
    if mode == "ache":
        return [replace(s, kind="easy") if s.kind in QUALITY_KINDS or s.kind == "strides" else s for s in sessions]
    if mode == "acute":
        return [_Session(s.day, "cross_training") for s in sessions]
    return [_Session(s.day, "easy" if rank % 2 == 0 else "cross_training") for rank, s in enumerate(sessions)]


VOLUME_FACTOR = {None: 1.0, "ache": ACHE_FACTOR, "acute": 0.0, "returning": INJURY_FACTOR}


# --- volume -------------------------------------------------------------------------------------------

def _healthy_volumes(ctx: _Context, frames: list[_Frame], current_km: float) -> list[float]:
    """The week-by-week volume of the uninjured plan: the progression an injury scales down."""
    floor = FLOOR_KM_PER_RUN[ctx.goal.level] * ctx.goal.runs_per_week
    level = max(current_km, floor)  # the last non-cutback week: to start with, the runner's own
    previous, volumes = level, []
    for index, frame in enumerate(frames):
        target = _target_km(frame, index, level, previous, floor, current_km)
        km = sum(d for d in _distances(ctx, _sessions(ctx, frame), target, None) if d)
        km = round(km, 1)
        if (frame.phase in BUILD_PHASES and not frame.cutback) or frame.phase == "recovery":
            level = km
        previous = km
        volumes.append(km)
    return volumes


def _target_km(frame: _Frame, index: int, level: float, previous: float, floor: float, current_km: float) -> float:
    if frame.phase == "taper":
        return level * TAPER_DROP ** frame.taper_step
    if frame.phase == "recovery":
        return max(previous * RECOVERY_FACTOR, floor)
    if frame.cutback:
        return level * CUTBACK_FACTOR
    if index == 0:  # next week after what the runner has been doing
        return max(floor, current_km * WEEKLY_RISE)
    return level * WEEKLY_RISE


def _long_cap(ctx: _Context) -> float:
    goal = ctx.goal
    if goal.race == "sprint":
        return SPRINT_LONG_CAP_KM
    if goal.race == "ultra":
        return ULTRA_LONG_CAP_KM[goal.level]
    cap = LONG_CAP_KM[goal.level]
    if ctx.paces is not None:
        cap = min(cap, LONG_RUN_MAX_MIN * 60 / ctx.paces.easy_max_s)
    return cap


def _cap_km(ctx: _Context, session: _Session, mode: str | None) -> float:
    """Longest distance for this session; 0 for sessions that carry no running distance."""
    if session.kind in ("race", "cross_training"):
        return 0.0
    if session.post_race:
        return POST_RACE_CAP_KM
    if mode == "returning":
        return INJURY_RUN_CAP_KM
    if session.kind == "long":
        return _long_cap(ctx)
    if session.kind == "back_to_back_long":
        return _long_cap(ctx) * BACK_TO_BACK_SHARE
    easy = SPRINT_EASY_CAP_KM if ctx.goal.race == "sprint" else EASY_CAP_KM[ctx.goal.level]
    return easy + (4.0 if session.kind in QUALITY_KINDS and ctx.goal.race != "sprint" else 0.0)


def _weights(ctx: _Context, sessions: list[_Session], caps: list[float]) -> list[float]:
    """Share of the week per session: the long run gets about 1.5/runs of it (25-50 %)."""
    relative = {"strides": 0.8, "time_on_feet": 1.3}
    weights = [0.0 if not cap else 0.5 if s.post_race else relative.get(s.kind, 1.0) for s, cap in zip(sessions, caps)]
    others = sum(w for s, w in zip(sessions, weights) if s.kind not in ("long", "back_to_back_long"))
    share = min(0.5, max(0.25, 1.5 / ctx.goal.runs_per_week))
    pair = BACK_TO_BACK_SHARE if any(s.kind == "back_to_back_long" for s in sessions) else 0.0
    long_weight = share * others / (1 - share * (1 + pair)) if others else 1.0
    for i, session in enumerate(sessions):
        if session.kind == "long" and caps[i]:
            weights[i] = long_weight
        elif session.kind == "back_to_back_long" and caps[i]:
            weights[i] = long_weight * BACK_TO_BACK_SHARE
    return weights


def _distances(ctx: _Context, sessions: list[_Session], target: float, mode: str | None) -> list[float | None]:
    """Kilometres per session summing to the target (to 0.1 km), within each session's cap and,
    in a healthy week, never under MIN_RUN_KM; None for sessions without distance."""
    caps = [_cap_km(ctx, s, mode) for s in sessions]
    weights = _weights(ctx, sessions, caps)
    floor = MIN_RUN_KM if mode is None else 0.0
    counted = [i for i, cap in enumerate(caps) if cap > 0]
    if not counted:
        return [None] * len(sessions)
    goal_km = min(max(target, floor * len(counted)), sum(caps[i] for i in counted))
    km = _fill(goal_km, [weights[i] for i in counted], [caps[i] for i in counted], floor)
    result: list[float | None] = [None] * len(sessions)
    for i, value in zip(counted, _round_keeping_sum(km, goal_km)):
        result[i] = value
    return result


def _fill(total: float, weights: list[float], caps: list[float], floor: float) -> list[float]:
    """Water-filling: shares proportional to the weights, clipped to [floor, cap], summing to total."""
    def amounts(scale: float) -> list[float]:
        return [min(cap, max(floor, scale * w)) for w, cap in zip(weights, caps)]

    # The sum is piecewise linear in the scale, with kinks where a share meets its floor or cap:
    # find the segment that reaches the total and interpolate inside it.
    low, low_sum = 0.0, sum(amounts(0.0))
    for kink in sorted({bound / w for w, cap in zip(weights, caps) for bound in (floor, cap) if bound > 0}):
        kink_sum = sum(amounts(kink))
        if kink_sum >= total:
            rise = kink_sum - low_sum
            return amounts(kink if rise <= 1e-12 else low + (kink - low) * (total - low_sum) / rise)
        low, low_sum = kink, kink_sum
    return amounts(low)


def _round_keeping_sum(values: list[float], total: float) -> list[float]:
    """To 0.1 km without losing any: the tenths rounding drops go to the largest remainders."""
    tenths = [math.floor(v * 10 + 1e-9) for v in values]
    missing = round(total * 10) - sum(tenths)
    by_remainder = sorted(range(len(values)), key=lambda i: values[i] * 10 - tenths[i], reverse=missing > 0)
    for i in by_remainder[:abs(missing)]:
        tenths[i] += 1 if missing > 0 else -1
    return [t / 10 for t in tenths]


# --- a week, in words ----------------------------------------------------------------------------------

def _week(ctx: _Context, frame: _Frame, healthy_km: float, injury: Injury | None) -> Week:
    mode = _injury_mode(injury, frame.start)
    sessions = _sessions(ctx, frame)
    if mode in ("acute", "returning"):  # no racing hurt: the race comes back once the injury is gone
        sessions = [_Session(s.day, "easy") if s.kind == "race" else s for s in sessions]
    sessions = _injured(sessions, mode)
    distances = _distances(ctx, sessions, healthy_km * VOLUME_FACTOR[mode], mode)
    if mode == "returning":  # a run too short to be worth it is cross-training instead
        sessions = [_Session(s.day, "cross_training") if km is not None and km < MIN_RUN_KM else s
                    for s, km in zip(sessions, distances)]
        distances = [km if s.kind != "cross_training" else None for s, km in zip(sessions, distances)]
    volume = round(sum(km for s, km in zip(sessions, distances) if km and s.kind != "race"), 1)
    writer = _Writer(ctx, volume, _cross_minutes(healthy_km, ctx.goal.runs_per_week), injury)
    runs = tuple(writer.run(s, km) for s, km in zip(sessions, distances))
    injured = mode in ("acute", "returning")
    return Week(frame.start, "recovery" if injured else frame.phase, volume, frame.cutback and not injured, runs)


def _cross_minutes(week_km: float, runs_per_week: int) -> int:
    """About the time an average run of the week would take, 20-60 min."""
    return int(min(60, max(20, 5 * round(week_km / runs_per_week * 6 / 5))))


def _clock(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}:{rest:02d}"


def _round_down(value: float, step: float) -> float:
    return math.floor(value / step + 1e-9) * step


class _Writer:
    """Turns a session and its kilometres into a PlannedRun: pace text, Spanish instruction, minutes."""

    def __init__(self, ctx: _Context, week_km: float, cross_min: int, injury: Injury | None):
        self.ctx, self.paces, self.week_km, self.cross_min = ctx, ctx.paces, week_km, cross_min
        self.area = injury.area.strip()[:AREA_MAX_CHARS] if injury else ""

    def run(self, session: _Session, km: float | None) -> PlannedRun:
        if session.kind == "race":
            return self.race(session.day)
        if session.kind == "cross_training":
            return self.cross(session)
        if session.kind in QUALITY_KINDS:
            return self.quality(session.day, session.kind, km)
        return self.easy_kind(session, km)

    # paces
    def easy_pace(self) -> str:
        p = self.paces
        return f"{_clock(p.easy_min_s)}–{_clock(p.easy_max_s)}/km" if p else EFFORT_ES["easy"]

    def phrase(self, pace: str) -> str:
        """'a 4:15/km' for a clock pace; effort texts already read as a phrase."""
        return f"a {pace}" if self.paces else pace

    def easy_minutes(self, km: float) -> float | None:
        return round(km * (self.paces.easy_min_s + self.paces.easy_max_s) / 120) if self.paces else None

    def caution(self) -> str:
        return f"; para si duele ({self.area})" if self.area else ""

    # sessions
    def easy_kind(self, session: _Session, km: float) -> PlannedRun:
        pace, say, kind = self.easy_pace(), decimal(km), session.kind
        phrase = self.phrase(pace)
        if kind == "time_on_feet":
            return self.time_on_feet(session.day, km)
        text = {"long": f"Fondo: {say} km {phrase}, sin forzar",
                "back_to_back_long": f"Fondo del 2.º día: {say} km {phrase}, con las piernas cansadas",
                "strides": f"Suave: {say} km {phrase} y al final 6 rectas de 20 s rápidas y relajadas",
                }.get(kind, f"Recuperación: {say} km muy suaves {phrase}" if session.post_race
                      else f"Suave: {say} km {phrase}")
        return PlannedRun(session.day, kind, km, self.easy_minutes(km), pace, text + self.caution())

    def time_on_feet(self, day: date, km: float) -> PlannedRun:
        p = self.paces
        pace = f"más lento que {_clock(p.easy_max_s)}/km" if p else EFFORT_ES["time_on_feet"]
        minutes = round(km * ((p.easy_max_s + 60) / 60 if p else UNKNOWN_PACE_MIN_PER_KM))
        text = f"Tiempo en pie: {minutes} min por sendero o cerros, {pace}; camina las subidas"
        return PlannedRun(day, "time_on_feet", km, minutes, pace, text + self.caution())

    def cross(self, session: _Session) -> PlannedRun:
        pace = EFFORT_ES["cross_training"]
        if session.post_race:
            return PlannedRun(session.day, "cross_training", None, 30, pace,
                              f"Recuperación: 30 min de caminata o bici, {pace}")
        text = f"Bici, elíptica o natación: {self.cross_min} min, {pace}"
        return PlannedRun(session.day, "cross_training", None, self.cross_min, pace,
                          text + (f" (cuida {self.area})" if self.area else ""))

    def race(self, day: date) -> PlannedRun:
        race, p = self.ctx.goal.race, self.paces
        if race == "ultra":
            pace = ULTRA_RACE_ES
        elif race == "sprint":
            pace = SPRINT_RACE_ES
        elif p:
            field, factor = RACE_PACE[race]
            pace = f"~{_clock(getattr(p, field) * factor)}/km"
        else:
            pace = EFFORT_ES["race"]
        km = RACE_KM.get(race)
        minutes = round(km * getattr(p, RACE_PACE[race][0]) * RACE_PACE[race][1] / 60) if p and km else None
        start = f"sal a {pace}" if p and race in RACE_PACE else f"sal {pace}" if race in RACE_PACE else pace
        text = f"¡Día de carrera! {RACE_NAMES_ES[race]}: {start}. Calienta bien y disfruta"
        return PlannedRun(day, "race", km, minutes, pace, text)

    def quality(self, day: date, kind: str, km: float) -> PlannedRun:
        build = {"tempo": self.tempo, "intervals": self.intervals, "marathon_pace": self.marathon_pace,
                 "repetitions": self.sprint_repetitions if self.ctx.goal.race == "sprint" else self.repetitions}
        run = build[kind](day, km)
        if run is None:  # too short a slot for the workout: easy running with strides instead
            return self.easy_kind(_Session(day, "strides"), km)
        return run

    def _steady(self, day: date, kind: str, km: float, work: float, pace_s: float | None, title: str) -> PlannedRun:
        pace = f"{_clock(pace_s)}/km" if self.paces else EFFORT_ES[kind]
        warm = decimal((km - work) / 2)
        text = f"{title}: {warm} km suaves, {decimal(work)} km {self.phrase(pace)} y {warm} km suaves"
        minutes = round((self.easy_minutes(km - work) or 0) + work * pace_s / 60) if self.paces else None
        return PlannedRun(day, kind, km, minutes, pace, text)

    def tempo(self, day: date, km: float) -> PlannedRun | None:
        work = _round_down(min(max(0.10 * self.week_km, 1.5), km - WARM_KM), 0.5)  # T <= 10 % of the week
        if km < QUALITY_MIN_KM or work < 1.5:
            return None
        return self._steady(day, "tempo", km, work, self.paces.threshold_s if self.paces else None, "Tempo")

    def marathon_pace(self, day: date, km: float) -> PlannedRun | None:
        work = _round_down(min(0.20 * self.week_km, 29.0, km - WARM_KM), 0.5)  # M <= 20 % and 29 km
        if km < QUALITY_MIN_KM or work < 3.0:
            return None
        return self._steady(day, "marathon_pace", km, work, self.paces.marathon_s if self.paces else None,
                            "Ritmo maratón")

    def _reps(self, km: float, limit: float, rep_km: float, jog_km: float, least: int) -> int | None:
        """How many reps fit the week's limit and the session, with their recoveries; None if too few."""
        reps = max(least, int(limit / rep_km + 1e-9))
        while reps > least and reps * (rep_km + jog_km) > km - WARM_KM:
            reps -= 1
        return reps if km >= QUALITY_MIN_KM and reps * (rep_km + jog_km) <= km - WARM_KM else None

    def intervals(self, day: date, km: float) -> PlannedRun | None:
        limit = min(0.08 * self.week_km, 10.0)  # I <= 8 % of the week and 10 km
        rep = 1.0 if limit >= 5 else 0.8
        reps = self._reps(km, limit, rep, 0.4, 3)
        if reps is None:
            return None
        pace = f"{_clock(self.paces.interval_s)}/km" if self.paces else EFFORT_ES["intervals"]
        warm = decimal((km - reps * (rep + 0.4)) / 2)
        text = (f"Series: {warm} km suaves, {reps} × {round(rep * 1000)} m {self.phrase(pace)} "
                f"con 2 min de trote, {warm} km suaves")
        minutes = (round(self.easy_minutes(km - reps * rep) + reps * rep * self.paces.interval_s / 60)
                   if self.paces else None)
        return PlannedRun(day, "intervals", km, minutes, pace, text)

    def repetition_pace(self, rep_m: int) -> str:
        p = self.paces
        if not p:
            return EFFORT_ES["repetitions"]
        return f"{_clock(p.repetition_s)}/km ({round(p.repetition_400m_s * rep_m / 400)} s/{rep_m} m)"

    def repetitions(self, day: date, km: float) -> PlannedRun | None:
        limit = min(0.05 * self.week_km, 8.0)  # R <= 5 % of the week and 8 km
        rep = 0.4 if limit >= 2.4 else 0.2
        reps = self._reps(km, limit, rep, rep, 4)  # jog as far as the rep
        if reps is None:
            return None
        rep_m = round(rep * 1000)
        pace = self.repetition_pace(rep_m)
        warm = decimal((km - 2 * reps * rep) / 2)
        text = (f"Repeticiones: {warm} km suaves, {reps} × {rep_m} m {self.phrase(pace)} "
                f"trotando {rep_m} m entre cada una, {warm} km suaves")
        return PlannedRun(day, "repetitions", km, self.reps_minutes(km, reps * rep), pace, text)

    def sprint_repetitions(self, day: date, km: float) -> PlannedRun | None:
        reps, rep_m = SPRINT_REPS[self.ctx.goal.level]
        if km - WARM_KM < reps * rep_m / 1000:
            return None
        pace = self.repetition_pace(rep_m)
        warm = decimal((km - reps * rep_m / 1000) / 2)
        text = (f"Velocidad: {warm} km suaves, técnica y {reps} × {rep_m} m {self.phrase(pace)} "
                f"volviendo caminando, {warm} km suaves")
        return PlannedRun(day, "repetitions", km, self.reps_minutes(km, reps * rep_m / 1000), pace, text)

    def reps_minutes(self, km: float, work: float) -> float | None:
        if not self.paces:
            return None
        return round(self.easy_minutes(km - work) + work * self.paces.repetition_s / 60)
