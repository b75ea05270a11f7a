"""Running fitness in Jack Daniels' VDOT system: race time -> VDOT -> equivalent races and paces.

The equations are Daniels and Gilbert's (Oxygen Power, 1979), the ones behind the tables of
Daniels' Running Formula, 3rd ed. (Human Kinetics, 2014), chapter 5:

    oxygen cost of running at v m/min:   VO2 = -4.60 + 0.182258 v + 0.000104 v^2   (ml/kg/min)
    share of VO2max held for t minutes:  %max = 0.8 + 0.1894393 e^(-0.012778 t)
                                                     + 0.2989558 e^(-0.1932605 t)
    VDOT = VO2 / %max

Race predictions solve those two equations for the time (Table 5.1's race times, within 0.2 %).
E, T and I paces are the speeds whose oxygen cost is a fixed share of VDOT, M is the predicted
marathon pace and R a few seconds per 400 m faster than I; the constants below were chosen against
Table 5.2 ("Training intensities based on current VDOT") and reproduce it within 3 s/km for
VDOT 30-85 (see tests/running/test_fitness.py). Units: seconds (per km for paces) and metres.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

VDOT_MIN = 20.0  # a 42:39 5K (8:32/km): slower is walking, where the running equations stop holding
VDOT_MAX = 90.0  # a 12:01 5K, 1:55:27 marathon: above every world record (they sit near VDOT 85)

RACES_M = {"5K": 5000.0, "10K": 10000.0, "half": 21097.5, "marathon": 42195.0}

# Shares of VDOT (of the oxygen cost) for each training pace, fitted to Table 5.2. Daniels' text
# puts E at 59-74 % of VO2max, but the table's slow E end sits at ~63 % of the oxygen cost.
EASY_FAST_SHARE = 0.73
EASY_SLOW_SHARE = 0.632
THRESHOLD_SHARE = 0.88
INTERVAL_SHARE = 0.975

# Table 5.2 slows M below race pace for marathons longer than ~3 h 24 min (runners that slow cannot
# hold the 80 %+ of VO2max the drop-dead curve assumes for so long): 2 % per extra hour fits it.
M_SLOWDOWN_FROM_H = 3.4
M_SLOWDOWN_PER_H = 0.02

# R per 400 m is 8 s faster than I up to VDOT 47 and 6 s from VDOT 50 on, in Table 5.2.
R_GAP_SLOW_S, R_GAP_FAST_S = 8.0, 6.0
R_GAP_FROM_VDOT, R_GAP_TO_VDOT = 47.0, 50.0

# Speed bracket for the numerical solve: 3 km/h to 60 km/h covers VDOT 20..90 at any distance.
_SLOWEST_M_PER_MIN, _FASTEST_M_PER_MIN = 50.0, 1000.0


class InvalidEffort(ValueError):
    """An impossible distance or time, or one far outside human performance (the caller translates)."""


@dataclass(frozen=True)
class TrainingPaces:  # seconds per kilometre
    easy_min_s: float  # the faster end of the E range
    easy_max_s: float  # the slower end
    marathon_s: float
    threshold_s: float
    interval_s: float
    repetition_s: float
    repetition_400m_s: float  # R pace per 400 m


def oxygen_cost(metres_per_min: float) -> float:
    """ml/kg/min needed to run at this speed."""
    v = metres_per_min
    return -4.60 + 0.182258 * v + 0.000104 * v * v


def sustainable_share(minutes: float) -> float:
    """Share of VO2max a runner can hold for an all-out effort of this duration."""
    t = minutes
    return 0.8 + 0.1894393 * math.exp(-0.012778 * t) + 0.2989558 * math.exp(-0.1932605 * t)


def speed_for_oxygen(vo2: float) -> float:
    """m/min whose oxygen cost is vo2 (the positive root of the cost quadratic)."""
    a, b, c = 0.000104, 0.182258, -4.60 - vo2
    return (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)


def _vdot(distance_m: float, seconds: float) -> float:
    minutes = seconds / 60
    return oxygen_cost(distance_m / minutes) / sustainable_share(minutes)


def _check_distance(distance_m: float) -> None:
    if not (math.isfinite(distance_m) and distance_m > 0):
        raise InvalidEffort(f"distance must be a positive number of metres, got {distance_m!r}")


def _check_time(seconds: float) -> None:
    if not (math.isfinite(seconds) and seconds > 0):
        raise InvalidEffort(f"time must be a positive number of seconds, got {seconds!r}")


def _check_vdot(vdot: float) -> None:
    if not (math.isfinite(vdot) and VDOT_MIN <= vdot <= VDOT_MAX):
        raise InvalidEffort(f"VDOT {vdot:.1f} is outside the plausible range "
                            f"{VDOT_MIN:.0f}-{VDOT_MAX:.0f}; check the distance and the time")


def vdot_from_race(distance_m: float, seconds: float) -> float:
    """VDOT of an all-out effort; InvalidEffort if the effort is impossible or implausible."""
    _check_distance(distance_m)
    _check_time(seconds)
    vdot = _vdot(distance_m, seconds)
    _check_vdot(vdot)
    return vdot


def race_time(vdot: float, distance_m: float) -> float:
    """Predicted all-out seconds for this distance, by bisection (VDOT falls as time grows)."""
    _check_vdot(vdot)
    _check_distance(distance_m)
    fast = distance_m / _FASTEST_M_PER_MIN * 60
    slow = distance_m / _SLOWEST_M_PER_MIN * 60
    for _ in range(60):  # 60 halvings shrink any bracket here far below a millisecond
        mid = (fast + slow) / 2
        if _vdot(distance_m, mid) > vdot:
            fast = mid
        else:
            slow = mid
    return (fast + slow) / 2


def equivalent_races(vdot: float) -> dict[str, float]:
    """Predicted seconds for the 5K, 10K, half and marathon."""
    return {name: race_time(vdot, metres) for name, metres in RACES_M.items()}


def _pace_at_share(vdot: float, share: float) -> float:
    return 60000 / speed_for_oxygen(share * vdot)


def _marathon_pace(vdot: float) -> float:
    seconds = race_time(vdot, RACES_M["marathon"])
    slowdown = 1 + M_SLOWDOWN_PER_H * max(0.0, seconds / 3600 - M_SLOWDOWN_FROM_H)
    return seconds / 42.195 * slowdown


def _repetition_gap(vdot: float) -> float:
    """Seconds per 400 m that R is faster than I."""
    progress = (vdot - R_GAP_FROM_VDOT) / (R_GAP_TO_VDOT - R_GAP_FROM_VDOT)
    progress = min(1.0, max(0.0, progress))
    return R_GAP_SLOW_S + (R_GAP_FAST_S - R_GAP_SLOW_S) * progress


def training_paces(vdot: float) -> TrainingPaces:
    """Daniels' E/M/T/I/R paces for a current (not a goal) VDOT."""
    _check_vdot(vdot)
    interval = _pace_at_share(vdot, INTERVAL_SHARE)
    repetition_400m = interval * 0.4 - _repetition_gap(vdot)
    return TrainingPaces(
        easy_min_s=_pace_at_share(vdot, EASY_FAST_SHARE),
        easy_max_s=_pace_at_share(vdot, EASY_SLOW_SHARE),
        marathon_s=_marathon_pace(vdot),
        threshold_s=_pace_at_share(vdot, THRESHOLD_SHARE),
        interval_s=interval,
        repetition_s=repetition_400m * 2.5,
        repetition_400m_s=repetition_400m,
    )


# --- Estimating VDOT from training runs, when there is no race ------------------------------------
#
# Method: every run gives a *lower bound* on the runner's VDOT, read with the most conservative
# assumption its effort allows:
#   - hard efforts (RPE >= 8) and runs without an RPE are read as races (vdot_from_race): a run
#     can only be as fast as a race of the same length, never faster;
#   - moderate runs (RPE 5-7) are read as at most threshold effort (88 % of VDOT);
#   - easy runs (RPE <= 4) are discounted to the fast end of the E band (73 % of VDOT): they only
#     tell us the runner's easy pace is at least that quick.
# If there are hard efforts, only they count (they are the closest thing to a race); otherwise the
# best of the other readings. Runs under 5 minutes are ignored (reps and strides: the equations
# were fitted to races from 1500 m up) and so are implausible readings (typos, GPS glitches).
# Limits: RPE is self-reported and a mislabelled "easy" hard run overestimates; submaximal runs
# underestimate, so with no hard effort the estimate errs low; hills, heat and GPS error are not
# modelled; the caller chooses what "recent" means (about the last 4-6 weeks).

HARD_RPE = 8
EASY_RPE = 4
MIN_RUN_SECONDS = 5 * 60


def _run_reading(distance_km: float, seconds: float, rpe: int | None) -> float | None:
    """The run's VDOT lower bound, or None when it says nothing usable."""
    if not (math.isfinite(distance_km) and math.isfinite(seconds)):
        return None
    if distance_km <= 0 or seconds < MIN_RUN_SECONDS:
        return None
    if rpe is None or rpe >= HARD_RPE:
        share = sustainable_share(seconds / 60)
    else:
        share = min(sustainable_share(seconds / 60),
                    EASY_FAST_SHARE if rpe <= EASY_RPE else THRESHOLD_SHARE)
    vdot = oxygen_cost(distance_km * 1000 / (seconds / 60)) / share
    return vdot if VDOT_MIN <= vdot <= VDOT_MAX else None


def vdot_from_runs(runs: list[tuple[float, float, int | None]]) -> float | None:
    """Estimated VDOT from recent (distance_km, seconds, rpe 1-10 or None) runs; None if unusable."""
    hard, other = [], []
    for distance_km, seconds, rpe in runs:
        rpe = rpe if rpe is not None and 1 <= rpe <= 10 else None  # out of scale: effort unknown
        reading = _run_reading(distance_km, seconds, rpe)
        if reading is not None:
            (hard if rpe is not None and rpe >= HARD_RPE else other).append(reading)
    best = hard or other
    return max(best) if best else None


# --- Formatting -----------------------------------------------------------------------------------

def _whole_seconds(seconds: float) -> int:
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ValueError(f"cannot format {seconds!r} seconds")
    return round(seconds)  # rounded once, so 4:59.6 becomes 5:00, never 4:60


def format_pace(seconds_per_km: float) -> str:
    """265 -> "4:25/km"."""
    minutes, seconds = divmod(_whole_seconds(seconds_per_km), 60)
    return f"{minutes}:{seconds:02d}/km"


def format_duration(seconds: float) -> str:
    """1197 -> "19:57"; 11449 -> "3:10:49"."""
    hours, rest = divmod(_whole_seconds(seconds), 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{seconds:02d}"
    return f"{minutes}:{seconds:02d}"
