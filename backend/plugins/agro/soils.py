"""Soil texture -> water held between field capacity and wilting point (FAO-56 Table 19), read
from data/agro/soils_fao56.csv with Spanish texture names. Each class keeps Table 19's ranges;
the water balance uses their midpoints."""
from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from backend.text import fold

DATA = Path(__file__).resolve().parents[3] / "data" / "agro" / "soils_fao56.csv"

# A producer who does not know the texture gets loam: the middle of Table 19 (130 mm/m, as
# silt clay loam, silty clay and clay loam), neither the sand that would flood nor the clay.
DEFAULT_SOIL = "franco"
DONT_KNOW = {"", "no se", "nose", "no lo se", "no sabe", "ni idea", "desconocido", "no", "-", "?"}


class UnknownSoil(ValueError):
    """A texture no row or alias matches; the message (Spanish, for the producer) lists them."""

    def __init__(self, name: str, known: list[str]):
        self.name = name
        self.known = known
        super().__init__(f"No conozco el suelo «{name}». Responde uno de: {', '.join(known)}, "
                         "o «no sé» (se usará franco).")


@dataclass(frozen=True)
class Soil:
    key: str
    name_es: str
    aliases: tuple[str, ...]
    theta_fc_range: tuple[float, float]  # m3/m3 at field capacity, Table 19
    theta_wp_range: tuple[float, float]  # m3/m3 at wilting point, Table 19
    source: str
    assumed: bool = False  # the producer did not know: this is DEFAULT_SOIL standing in

    @property
    def theta_fc(self) -> float:
        return sum(self.theta_fc_range) / 2

    @property
    def theta_wp(self) -> float:
        return sum(self.theta_wp_range) / 2

    @property
    def taw_mm_per_m(self) -> float:
        """Total available water per metre of roots: 1000 (θFC - θWP) (FAO-56 eq. 82 with Zr = 1)."""
        return 1000 * (self.theta_fc - self.theta_wp)


def lookup_soil(name: str) -> Soil:
    """The texture a producer names ('franco arenoso', 'arcilla', 'sandy loam'); 'no sé' gives
    the default loam with `assumed` set. Raises UnknownSoil listing the textures."""
    folded = _normalized(name)
    if folded in DONT_KNOW:
        return replace(_index()[DEFAULT_SOIL], assumed=True)
    for candidate in (folded, folded.removeprefix("suelo "), folded.removeprefix("tierra ")):
        if candidate in _index():
            return _index()[candidate]
    raise UnknownSoil(name, [soil.name_es.lower() for soil in all_soils()])


def find_soil_in(text: str) -> Soil | None:
    """The texture named anywhere in a sentence («el suelo del lote 2 es franco arenoso»): the
    longest name that appears as whole words, so «franco arenoso» wins over «franco»."""
    normalized = f" {_normalized(text)} "
    for name in sorted(_index(), key=len, reverse=True):
        if f" {name} " in normalized:
            return _index()[name]
    return None


@cache
def all_soils() -> tuple[Soil, ...]:
    with DATA.open(encoding="utf-8", newline="") as file:
        return tuple(_soil(row) for row in csv.DictReader(file))


@cache
def _index() -> dict[str, Soil]:
    index: dict[str, Soil] = {}
    for soil in all_soils():
        for name in (soil.key, soil.name_es, *soil.aliases):
            if index.setdefault(_normalized(name), soil) is not soil:
                raise ValueError(f"{DATA.name}: «{name}» names two soils")
    return index


def _soil(row: dict) -> Soil:
    soil = Soil(key=row["key"], name_es=row["name_es"], aliases=tuple(row["aliases"].split("|")),
                theta_fc_range=(float(row["fc_min"]), float(row["fc_max"])),
                theta_wp_range=(float(row["wp_min"]), float(row["wp_max"])), source=row["source"])
    if not 0 < soil.theta_wp < soil.theta_fc < 1:
        raise ValueError(f"{DATA.name}: {soil.key} needs 0 < θWP < θFC < 1")
    return soil


def _normalized(name: str) -> str:
    """Folded, hyphens and underscores as spaces, one space between words, no end punctuation."""
    return " ".join(fold(name).replace("-", " ").replace("_", " ").split()).strip(" .!?¿¡")
