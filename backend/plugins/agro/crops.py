"""Crop coefficient curves of the crops of the Andes and the Peruvian coast (FAO-56 ch. 6), read
from data/agro/crops_fao56.csv; data/agro/SOURCES.md says where every number comes from.

Stage lengths come from FAO-56 Table 11, Kc_ini/Kc_mid/Kc_end from Table 12 (single crop
coefficient, sub-humid climate: no eq. 62 climate adjustment), maximum root depth and the
depletion fraction p from Table 22.

Three growth habits:
* annual: the four-stage curve of Fig. 25 (eq. 66), then "cosechado";
* perennial (coffee, cacao, avocado, citrus, banana): an established plantation keeps Kc_mid
  all year; banana first climbs from Kc_ini over its Table 11 initial and development stages
  (a new plantation), the evergreen trees have no Table 11 row and start at Kc_mid;
* cutting (alfalfa): a first cycle from sowing with the full curve, then cutting cycles that
  repeat Kc_ini -> Kc_mid -> Kc_end of Table 12's "individual cutting periods"; never harvested.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from backend.text import fold

DATA = Path(__file__).resolve().parents[3] / "data" / "agro" / "crops_fao56.csv"

STAGES = ("inicial", "desarrollo", "media", "final")
HARVESTED = "cosechado"
ANNUAL, PERENNIAL, CUTTING = "annual", "perennial", "cutting"
# Roots at sowing: FAO-56 gives no number; 0.15 m is the depth a seedling wets and draws from.
INITIAL_ROOT_DEPTH_M = 0.15
# Table 22 footnote: p is given for ETc = 5 mm/day, adjusted by 0.04 per mm, within 0.1..0.8.
P_REFERENCE_ETC = 5.0
P_SLOPE = 0.04
P_LIMITS = (0.1, 0.8)


class UnknownCrop(ValueError):
    """A crop name no row or alias matches; the message (Spanish, for the producer) lists them."""

    def __init__(self, name: str, known: list[str]):
        self.name = name
        self.known = known
        super().__init__(f"No conozco el cultivo «{name}». Conozco: {', '.join(known)}.")


@dataclass(frozen=True)
class Crop:
    key: str
    name_es: str
    aliases: tuple[str, ...]
    habit: str  # ANNUAL, PERENNIAL or CUTTING
    lengths: tuple[int, int, int, int]  # L_ini, L_dev, L_mid, L_late in days (Table 11)
    kc_ini: float
    kc_mid: float
    kc_end: float
    root_max_m: float  # Table 22, the smaller value (the one FAO-56 gives for irrigation scheduling)
    p: float  # Table 22 depletion fraction for ETc of about 5 mm/day
    regrowth: tuple[int, int, int, int] | None  # cutting cycles after the first (alfalfa)
    source: str
    note: str  # a caveat for the producer, "" when none

    @property
    def season_days(self) -> int | None:
        """Days from sowing to harvest; None for crops that are never harvested as a whole."""
        return sum(self.lengths) if self.habit == ANNUAL else None

    def stage(self, day_after_planting: int) -> str:
        """'inicial', 'desarrollo', 'media', 'final' or 'cosechado' (FAO-56 Fig. 25)."""
        return self._position(day_after_planting)[0]

    def kc(self, day_after_planting: int) -> float:
        """Single crop coefficient: constant in the initial and mid stages, linear in between
        (FAO-56 eq. 66, Fig. 25); 0 once harvested (no crop left)."""
        stage, day_in_stage, length = self._position(day_after_planting)
        if stage == HARVESTED:
            return 0.0
        start, end = {"inicial": (self.kc_ini, self.kc_ini), "desarrollo": (self.kc_ini, self.kc_mid),
                      "media": (self.kc_mid, self.kc_mid), "final": (self.kc_mid, self.kc_end)}[stage]
        return start + (end - start) * day_in_stage / length if length else start

    def root_depth(self, day_after_planting: int) -> float:
        """Effective root depth Zr (m): 0.15 m at sowing, growing linearly to Table 22's maximum by
        the end of the development stage (full cover), then constant. Established perennials
        (no initial or development days) and alfalfa after its first cycle are at the maximum."""
        _check_day(day_after_planting)
        growth_days = self.lengths[0] + self.lengths[1]
        if growth_days == 0 or day_after_planting >= growth_days:
            return self.root_max_m
        start = min(INITIAL_ROOT_DEPTH_M, self.root_max_m)
        return start + (self.root_max_m - start) * day_after_planting / growth_days

    def depletion_fraction(self, etc_mm: float) -> float:
        """p adjusted to the day's crop evapotranspiration (FAO-56 Table 22 footnote):
        p = p_table + 0.04 (5 - ETc), kept within 0.1..0.8."""
        adjusted = self.p + P_SLOPE * (P_REFERENCE_ETC - etc_mm)
        return min(max(adjusted, P_LIMITS[0]), P_LIMITS[1])

    def _position(self, day: int) -> tuple[str, int, int]:
        """(stage, day within it, its length)."""
        _check_day(day)
        lengths = self.lengths
        if self.habit == CUTTING and day >= sum(lengths):
            lengths = self.regrowth
            day = (day - sum(self.lengths)) % sum(lengths)
        elif self.habit == PERENNIAL:
            lengths = (lengths[0], lengths[1], 0, 0)
        for stage, length in zip(STAGES, lengths):
            if day < length:
                return stage, day, length
            day -= length
        if self.habit == PERENNIAL:
            return "media", day, 0
        return HARVESTED, day, 0


def lookup_crop(name: str) -> Crop:
    """The crop a producer names, in Spanish or English, with or without accents, in singular or
    plural. Raises UnknownCrop listing the known crops."""
    index = _index()
    folded = " ".join(fold(name).replace("_", " ").split())
    for candidate in (folded, folded.removesuffix("es"), folded.removesuffix("s")):
        if candidate in index:
            return index[candidate]
    raise UnknownCrop(name, sorted(c.name_es for c in all_crops()))


@cache
def all_crops() -> tuple[Crop, ...]:
    with DATA.open(encoding="utf-8", newline="") as file:
        return tuple(_crop(row) for row in csv.DictReader(file))


@cache
def crop_names() -> tuple[tuple[str, str], ...]:
    """(folded name, crop key) for every name and alias, longest first: how a crop is found
    inside a sentence («maíz amarillo duro» before «maíz»)."""
    return tuple(sorted(((name, crop.key) for name, crop in _index().items()), key=lambda p: -len(p[0])))


@cache
def _index() -> dict[str, Crop]:
    index: dict[str, Crop] = {}
    for crop in all_crops():
        for name in (crop.key, crop.name_es, *crop.aliases):
            key = " ".join(fold(name).replace("_", " ").split())
            if index.setdefault(key, crop) is not crop:
                raise ValueError(f"{DATA.name}: «{name}» names both {index[key].key} and {crop.key}")
    return index


def _crop(row: dict) -> Crop:
    lengths = tuple(int(row[f"l_{stage}"]) for stage in ("ini", "dev", "mid", "late"))
    regrowth = tuple(int(days) for days in row["regrowth"].split("|")) if row["regrowth"] else None
    crop = Crop(key=row["key"], name_es=row["name_es"], aliases=tuple(row["aliases"].split("|")),
                habit=row["habit"], lengths=lengths, kc_ini=float(row["kc_ini"]), kc_mid=float(row["kc_mid"]),
                kc_end=float(row["kc_end"]), root_max_m=float(row["root_max_m"]), p=float(row["p"]),
                regrowth=regrowth, source=row["source"], note=row["note"])
    if crop.habit not in (ANNUAL, PERENNIAL, CUTTING) or (crop.habit == CUTTING) != (regrowth is not None):
        raise ValueError(f"{DATA.name}: bad habit or regrowth for {crop.key}")
    if crop.habit == ANNUAL and min(lengths) <= 0:
        raise ValueError(f"{DATA.name}: {crop.key} needs four stage lengths")
    return crop


def _check_day(day: int) -> None:
    if day < 0:
        raise ValueError(f"day {day} is before planting")
