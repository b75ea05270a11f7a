"""When to irrigate and how much: the daily root-zone water balance of FAO-56 chapter 8, single
crop coefficient (ETc = Kc ET0, eq. 56), run over the weather history to today and forward over
the forecast until the depletion reaches the readily available water.

* TAW = 1000 (θFC - θWP) Zr (eq. 82) with Zr growing as the roots do (crops.Crop.root_depth);
  soil below the roots is taken to be at field capacity, so the depletion in mm carries over as
  they deepen (as FAO-56 Example 38 assumes).
* RAW = p TAW (eq. 83), p adjusted to each day's ETc (Table 22 footnote).
* Dr,i = Dr,i-1 - (P - RO) - I - CR + ETc,adj + DP (eq. 85) with no runoff (RO = 0) and no
  capillary rise (CR = 0), and 0 <= Dr <= TAW (eq. 86).
* Rain and irrigation arrive early in the day, as in FAO-56 Example 38: they refill the root
  zone first, water above field capacity drains at once (DP), then the crop uses the day's ETc.
  So a soaked field ends the day one ETc below field capacity; that is the cautious side, and it
  is what Example 38's printed table does (day 1: DP = I - Dr,i-1 = 17 mm, Dr,end = ETc ≈ 5 mm).
* Ks (eq. 84) reduces ETc once the depletion at the start of the day (after its water) passes
  RAW, as in Example 37.
* An irrigation is due early on the first day whose depletion, after that day's rain and
  reported irrigation, reaches that day's RAW; its net depth refills the root zone exactly
  (Example 38: day 10, 27 mm, no percolation).
* Irrigation depths in the inputs are gross (what was applied); the root zone gets them times the
  application efficiency. Advice.depth_mm is gross too: the net depth / efficiency.

tests/agro/test_water_balance.py reproduces FAO-56 Examples 36, 37 and 38 with these functions.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from numbers import Real
from typing import NamedTuple

from backend.plugins.agro.crops import ANNUAL, Crop
from backend.plugins.agro.soils import Soil

RECENT_DAYS = 7  # the mean ET0 of the last week stands in for days with no data
HORIZON_DAYS = 120  # looking further ahead than this is no advice


@dataclass(frozen=True)
class FieldSetup:
    crop: Crop
    planting_date: date
    soil: Soil
    irrigation_rate_mm_h: float | None = None  # of the irrigation method, when known
    efficiency: float = 1.0  # application efficiency: net water in the root zone / gross applied

    def __post_init__(self):
        if not (isinstance(self.efficiency, Real) and 0 < self.efficiency <= 1):
            raise ValueError(f"efficiency must be in (0, 1], got {self.efficiency!r}")
        if self.irrigation_rate_mm_h is not None and not (
                isinstance(self.irrigation_rate_mm_h, Real) and 0 < self.irrigation_rate_mm_h < 1000):
            raise ValueError(f"irrigation_rate_mm_h must be above 0, got {self.irrigation_rate_mm_h!r}")


@dataclass(frozen=True)
class DayInput:
    day: date
    et0_mm: float
    rain_mm: float = 0.0
    irrigation_mm: float = 0.0  # gross depth applied that day

    def __post_init__(self):
        for name, limit in (("et0_mm", 30.0), ("rain_mm", 2000.0), ("irrigation_mm", 2000.0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, Real) or not 0 <= value <= limit:
                raise ValueError(f"{name} must be between 0 and {limit:g} mm, got {value!r} ({self.day})")


@dataclass(frozen=True)
class Advice:
    today: date
    depletion_mm: float  # root-zone depletion at the end of today; before the irrigation, if it is due today
    taw_mm: float  # today's total available water (eq. 82)
    raw_mm: float  # today's readily available water (eq. 83)
    next_irrigation: date | None  # early on the first day from today whose depletion, after its rain, reaches RAW
    depth_mm: float  # gross depth to apply then: that depletion / efficiency; 0 with no irrigation
    hours: float | None  # depth_mm / the method's rate, when the rate is known and irrigation is due
    days_simulated: int  # days run through the balance, history and forward together
    assumptions: list[str]  # what the advice rests on, in Spanish, for the producer


@dataclass(frozen=True)
class RootZoneDay:
    """One day's inputs to the balance, whatever worked out the crop coefficient and the roots."""

    day: date
    et0_mm: float
    kc: float
    root_depth_m: float
    p: float  # fraction of TAW the crop can use without stress (Table 22)
    rain_mm: float = 0.0  # effective: P - RO
    net_irrigation_mm: float = 0.0  # reported, as it reached the root zone


@dataclass(frozen=True)
class DayBalance:
    """One day of the balance; the columns of FAO-56 Example 38."""

    day: date
    kc: float
    ks: float  # eq. 84
    etc_mm: float  # Ks Kc ET0: what the crop actually used
    taw_mm: float
    raw_mm: float
    start_depletion_mm: float  # after the day's rain and irrigation, before its ET
    irrigation_due_mm: float  # net depth the schedule adds early this day; 0 when none is due
    depletion_mm: float  # at the end of the day
    deep_percolation_mm: float


class DayWater(NamedTuple):
    start: float  # depletion after the day's water, before its ET
    end: float  # depletion at the end of the day
    percolation: float  # water above field capacity, drained (eq. 88)
    used: float  # ETc,adj = Ks ETc (eq. 81)
    ks: float


def total_available_water(soil: Soil, root_depth_m: float) -> float:
    """TAW in mm (FAO-56 eq. 82)."""
    return 1000 * (soil.theta_fc - soil.theta_wp) * root_depth_m


def readily_available_water(taw_mm: float, p: float) -> float:
    """RAW in mm (FAO-56 eq. 83)."""
    return p * taw_mm


def water_stress_coefficient(depletion_mm: float, taw_mm: float, raw_mm: float) -> float:
    """Ks (FAO-56 eq. 84): 1 up to RAW, then falling linearly to 0 at TAW."""
    if depletion_mm <= raw_mm:
        return 1.0
    return max(0.0, (taw_mm - depletion_mm) / (taw_mm - raw_mm))


def balance_day(depletion_mm: float, etc_mm: float, rain_mm: float, net_irrigation_mm: float,
                taw_mm: float, raw_mm: float) -> DayWater:
    """One day from yesterday's depletion, the water arriving early in the day: it refills the
    root zone, the excess drains (DP), then the crop uses Ks ETc (eq. 84-86)."""
    before = _after_water(depletion_mm, rain_mm + net_irrigation_mm, taw_mm)
    start = max(before, 0.0)
    ks = water_stress_coefficient(start, taw_mm, raw_mm)
    used = ks * etc_mm
    end = min(start + used, taw_mm)  # only a large ETc on a small TAW reaches the cap
    return DayWater(start, end, -before if before < 0 else 0.0, end - start, ks)


def _after_water(depletion_mm: float, water_mm: float, taw_mm: float) -> float:
    """Yesterday's depletion (no more than today's TAW) less the water arrived early today; below 0
    the root zone is above field capacity by that much."""
    return min(depletion_mm, taw_mm) - water_mm


def simulate(soil: Soil, days: Iterable[RootZoneDay], depletion_mm: float,
             schedule_from: date | None = None) -> Iterator[DayBalance]:
    """The balance day by day from `depletion_mm` at the start. From `schedule_from` on, it
    irrigates as Example 38 does: early on each day whose depletion after that day's rain and
    reported irrigation reaches RAW, with the net depth that brings it back to field capacity."""
    for given in days:
        taw = total_available_water(soil, given.root_depth_m)
        raw = readily_available_water(taw, given.p)
        due = 0.0
        if schedule_from is not None and given.day >= schedule_from:
            before = _after_water(depletion_mm, given.rain_mm + given.net_irrigation_mm, taw)
            due = before if before > 0 and before >= raw else 0.0
        step = balance_day(depletion_mm, given.kc * given.et0_mm, given.rain_mm, given.net_irrigation_mm + due,
                           taw, raw)
        yield DayBalance(given.day, given.kc, step.ks, step.used, taw, raw, step.start, due, step.end,
                         step.percolation)
        depletion_mm = step.end


def advise(setup: FieldSetup, history: list[DayInput], forecast: list[DayInput], today: date,
           initial_depletion_mm: float | None = None) -> Advice:
    """The next irrigation for a field: the balance runs from the start of the history (or from
    sowing, if later) to today, then forward over the forecast and, past it, on the last week's
    mean ET0 without rain, until an irrigation is due (then that day's depth, gross) or the crop
    is harvested or HORIZON_DAYS go by (then no irrigation).

    History days are at most today; a forecast day that the history also has is ignored. The
    soil starts at field capacity unless `initial_depletion_mm` (at the start) is given; with no
    history at all it starts so today. Raises ValueError for a planting date after today and for
    inconsistent inputs; every other simplification is listed in Advice.assumptions."""
    crop, planting = setup.crop, setup.planting_date
    if planting > today:
        raise ValueError("planting date is in the future")
    _check_days(history, forecast, today)
    assumptions = _fixed_assumptions(setup)

    weather = {d.day: d for d in forecast} | {d.day: d for d in history}
    fallback_et0 = _recent_et0(history, forecast)
    ignored = sum(1 for d in history if d.day < planting)
    if ignored:
        assumptions.append(f"Se ignoraron {_days(ignored)} de datos anteriores a la siembra.")
    start = _start_day(history, planting, today)
    harvest = planting + timedelta(days=crop.season_days) if crop.habit == ANNUAL else None
    if initial_depletion_mm is None:
        if harvest is None or today < harvest:
            assumptions.append(_start_text(start, planting, bool(history)))
        depletion = 0.0
    else:
        if not (isinstance(initial_depletion_mm, Real) and initial_depletion_mm >= 0):
            raise ValueError(f"initial_depletion_mm must be 0 or more, got {initial_depletion_mm!r}")
        depletion = float(initial_depletion_mm)

    last_day = min(today + timedelta(days=HORIZON_DAYS), harvest - timedelta(days=1) if harvest else date.max)
    inputs = (_root_zone_day(setup, weather.get(day) or DayInput(day, fallback_et0)) for day in _dates(start, last_day))
    days = []
    for balance in simulate(setup.soil, inputs, depletion, schedule_from=today):
        days.append(balance)
        if balance.irrigation_due_mm:
            break
    filled_past = sum(1 for d in days if d.day < today and d.day not in weather)
    filled_future = sum(1 for d in days if d.day >= today and d.day not in weather)
    if filled_past:
        assumptions.append(f"Sin datos del clima para {_days(filled_past)} del pasado: se usó la ET0 "
                           f"promedio reciente ({fallback_et0:.1f} mm/día) sin lluvia.")
    if filled_future:
        assumptions.append(f"Más allá del pronóstico se supuso la ET0 promedio reciente "
                           f"({fallback_et0:.1f} mm/día) y ningún día de lluvia.")
    return _advice(setup, days, today, harvest, assumptions)


def _dates(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _root_zone_day(setup: FieldSetup, given: DayInput) -> RootZoneDay:
    day_after_planting = (given.day - setup.planting_date).days
    kc = setup.crop.kc(day_after_planting)
    return RootZoneDay(given.day, given.et0_mm, kc, setup.crop.root_depth(day_after_planting),
                       setup.crop.depletion_fraction(kc * given.et0_mm), given.rain_mm,
                       given.irrigation_mm * setup.efficiency)


def _advice(setup: FieldSetup, days: list[DayBalance], today: date, harvest: date | None,
            assumptions: list[str]) -> Advice:
    if harvest is not None and today >= harvest:
        assumptions.append(f"El cultivo ya terminó su campaña ({setup.crop.season_days} días): cosecha prevista "
                           f"el {harvest.isoformat()}. No se recomienda riego.")
    now = next((d for d in reversed(days) if d.day <= today), None) or _idle_day(setup, today, harvest)
    depletion_now = now.irrigation_due_mm or now.depletion_mm
    due = days[-1] if days and days[-1].irrigation_due_mm else None
    if due is None:
        if harvest is None or today < harvest:
            assumptions.append(_no_irrigation_text(days, today, harvest))
        return Advice(today, depletion_now, now.taw_mm, now.raw_mm, None, 0.0, None, len(days), assumptions)
    depth = due.irrigation_due_mm / setup.efficiency
    hours = depth / setup.irrigation_rate_mm_h if setup.irrigation_rate_mm_h else None
    return Advice(today, depletion_now, now.taw_mm, now.raw_mm, due.day, depth, hours, len(days), assumptions)


def _idle_day(setup: FieldSetup, today: date, harvest: date | None) -> DayBalance:
    """The root zone when nothing was simulated (a harvested crop with no data in its season)."""
    day = min(today, harvest - timedelta(days=1)) if harvest else today
    day_after_planting = max((day - setup.planting_date).days, 0)
    taw = total_available_water(setup.soil, setup.crop.root_depth(day_after_planting))
    return DayBalance(day, 0.0, 1.0, 0.0, taw, readily_available_water(taw, setup.crop.p), 0.0, 0.0, 0.0, 0.0)


def _no_irrigation_text(days: list[DayBalance], today: date, harvest: date | None) -> str:
    if harvest is not None and days and days[-1].day == harvest - timedelta(days=1):
        return f"No hace falta regar antes de la cosecha prevista el {harvest.isoformat()}."
    return f"No se prevé riego en los próximos {HORIZON_DAYS} días."


def _fixed_assumptions(setup: FieldSetup) -> list[str]:
    notes = []
    if setup.soil.assumed:
        notes.append(f"Suelo no indicado: se supuso {setup.soil.name_es.lower()}.")
    if setup.crop.note:
        notes.append(setup.crop.note)
    if setup.efficiency < 1:
        notes.append(f"Lámina bruta con una eficiencia de aplicación del {setup.efficiency:.0%}.")
    return notes


def _start_day(history: list[DayInput], planting: date, today: date) -> date:
    after_planting = [d.day for d in history if d.day >= planting]
    if after_planting:
        return min(after_planting)
    return planting if history else today


def _start_text(start: date, planting: date, has_history: bool) -> str:
    if not has_history:
        return "Sin historial del clima: se supuso el suelo a capacidad de campo hoy."
    if start == planting:
        return "Se supuso el suelo a capacidad de campo al sembrar (riego de machaco o lluvia)."
    return f"Se supuso el suelo a capacidad de campo el {start.isoformat()}, primer día con datos."


def _recent_et0(history: list[DayInput], forecast: list[DayInput]) -> float:
    """Mean ET0 of the last RECENT_DAYS days with data, from the history, else the forecast."""
    source = sorted(history, key=lambda d: d.day)[-RECENT_DAYS:] or forecast
    if not source:
        raise ValueError("no ET0 at all: give a weather history or a forecast")
    return sum(d.et0_mm for d in source) / len(source)


def _check_days(history: list[DayInput], forecast: list[DayInput], today: date) -> None:
    for name, days in (("history", history), ("forecast", forecast)):
        dates = [d.day for d in days]
        if len(set(dates)) != len(dates):
            raise ValueError(f"{name} has the same day twice")
    if any(d.day > today for d in history):
        raise ValueError("history has days after today")


def _days(count: int) -> str:
    return f"{count} día" if count == 1 else f"{count} días"
