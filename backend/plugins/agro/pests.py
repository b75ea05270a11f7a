"""The pests and diseases producers report, as they name them in Spanish: "vi gusano cogollero en
el lote 2", "mi papa tiene rancha", "hay broca en el café". `find_pest()` recognizes them in free
text (case and accents folded, plurals tolerated); `load_knowledge()` reads the curated texts in
data/agro/knowledge/ (one Markdown file per pest, named after its key) for the backend to index.

Names are matched as whole words, longest first, so "polilla del tomate" wins over "polilla". A few
words name more than one problem ("polilla", "mildiu", "roya"); they are read with the crop the
message mentions ("polilla en mi tomate" is Tuta absoluta), and left unrecognized when that crop
is not one they attack: a "roya" in beans is not the coffee rust, and guessing would mislead."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from backend.text import fold

NOT_PEST_FILES = ("SOURCES.md", "README.md")  # in the knowledge directory, but not pest texts


@dataclass(frozen=True)
class Pest:
    key: str
    name_es: str  # as it reads inside a sentence: "Anoté: gusano cogollero"
    scientific: str
    crops: tuple[str, ...]


PESTS = (
    Pest("gusano_cogollero", "gusano cogollero", "Spodoptera frugiperda", ("maíz",)),
    Pest("rancha", "rancha o tizón tardío", "Phytophthora infestans", ("papa", "tomate")),
    Pest("gorgojo_andes", "gorgojo de los Andes", "Premnotrypes spp.", ("papa",)),
    Pest("polilla_papa", "polilla de la papa", "Phthorimaea operculella, Symmetrischema tangolias", ("papa",)),
    Pest("broca_cafe", "broca del café", "Hypothenemus hampei", ("café",)),
    Pest("roya_cafe", "roya amarilla del café", "Hemileia vastatrix", ("café",)),
    Pest("mosca_blanca", "mosca blanca", "Bemisia tabaci", ("tomate", "frijol")),
    Pest("pulgones", "pulgones (áfidos)", "Aphididae, p. ej. Myzus persicae", ("papa", "haba", "frijol", "tomate")),
    Pest("mildiu_quinua", "mildiu de la quinua", "Peronospora variabilis", ("quinua",)),
    Pest("moniliasis", "moniliasis del cacao", "Moniliophthora roreri", ("cacao",)),
    Pest("mazorca_negra", "mazorca negra del cacao", "Phytophthora palmivora", ("cacao",)),
    Pest("sigatoka_negra", "sigatoka negra", "Pseudocercospora fijiensis", ("plátano", "banano")),
    Pest("mosca_fruta", "mosca de la fruta", "Ceratitis capitata, Anastrepha spp.", ("cítricos", "mango", "palta")),
    Pest("trips_cebolla", "trips de la cebolla", "Thrips tabaci", ("cebolla",)),
    Pest("aranita_roja", "arañita roja", "Tetranychus urticae", ("frijol", "tomate", "maíz")),
    Pest("polilla_tomate", "polilla del tomate", "Tuta absoluta", ("tomate",)),
)
BY_KEY = {pest.key: pest for pest in PESTS}

# What producers call each one (folded, singular: "pulgones" and "moscas blancas" match too).
ALIASES = {
    "gusano_cogollero": ("gusano cogollero", "cogollero", "cogollero del maiz", "oruga cogollera", "gusano ejercito",
                         "spodoptera"),
    "rancha": ("rancha", "lancha", "yana rancha", "tizon tardio", "phytophthora infestans"),
    "gorgojo_andes": ("gorgojo de los andes", "gorgojo andino", "gorgojo de la papa", "gusano blanco", "papa kuru",
                      "premnotrypes"),
    "polilla_papa": ("polilla de la papa", "polilla de papa", "polilla andina", "phthorimaea", "symmetrischema"),
    "broca_cafe": ("broca del cafe", "broca del fruto", "hypothenemus"),
    "roya_cafe": ("roya amarilla", "roya del cafe", "roya del cafeto", "hemileia"),
    "mosca_blanca": ("mosca blanca", "mosquita blanca", "bemisia"),
    "pulgones": ("pulgon", "afido", "pulgon verde", "pulgon negro", "myzus"),
    "mildiu_quinua": ("mildiu de la quinua", "mildiu de quinua", "peronospora"),
    "moniliasis": ("moniliasis", "monilia", "moniliophthora"),
    "mazorca_negra": ("mazorca negra", "pudricion parda", "phytophthora palmivora"),
    "sigatoka_negra": ("sigatoka negra", "sigatoka", "raya negra", "pseudocercospora", "mycosphaerella"),
    "mosca_fruta": ("mosca de la fruta", "mosca de fruta", "mosca del mediterraneo", "ceratitis", "anastrepha"),
    "trips_cebolla": ("trips", "thrips", "trips de la cebolla"),
    "aranita_roja": ("aranita roja", "arana roja", "aranita", "acaro rojo", "tetranychus"),
    "polilla_tomate": ("polilla del tomate", "tuta", "tuta absoluta", "minador del tomate", "cogollero del tomate",
                       "palomilla del tomate"),
}
# Words for more than one problem: the first candidate attacking a crop the message names, or,
# when no crop is named, the first (the common case in Peru).
AMBIGUOUS = {
    "polilla": ("polilla_papa", "polilla_tomate"),
    "mildiu": ("mildiu_quinua", "rancha"),
    "tizon": ("rancha",),
    "phytophthora": ("rancha", "mazorca_negra"),
    "gorgojo": ("gorgojo_andes",),
    "broca": ("broca_cafe",),
    "roya": ("roya_cafe",),
    "mosca": ("mosca_fruta", "mosca_blanca"),
}
NEEDS_CROP = ("mosca",)  # too vague alone: only read with the crop
NOT_LISTED = ("tizon temprano", "mosca minadora")  # other problems whose names contain a listed word
CROP_WORDS = {"maiz": "maíz", "choclo": "maíz", "papa": "papa", "patata": "papa", "tomate": "tomate",
              "cafe": "café", "cafeto": "café", "cafetal": "café", "frijol": "frijol", "frejol": "frijol",
              "poroto": "frijol", "haba": "haba", "quinua": "quinua", "quinoa": "quinua", "cacao": "cacao",
              "platano": "plátano", "banano": "banano", "palta": "palta", "aguacate": "palta", "naranja": "cítricos",
              "mandarina": "cítricos", "limon": "cítricos", "citrico": "cítricos", "mango": "mango",
              "cebolla": "cebolla"}


def words(text: str) -> list[str]:
    """Folded words; underscores split too, so a key ("broca_cafe") reads like its name."""
    return re.findall(r"[^\W_]+", fold(text))


def find_pest(text: str) -> Pest | None:
    """The first pest the text names, or None. A pest's key or Spanish name finds it too."""
    tokens = words(text)
    if "_".join(tokens) in BY_KEY:
        return BY_KEY["_".join(tokens)]
    crops = _crops_named(tokens)
    chosen = _longest_first(tokens)
    for start in sorted(chosen):
        if (pest := _resolve(chosen[start], crops)) is not None:
            return pest
    return None


def _crops_named(tokens: list[str]) -> set[str]:
    return {crop for word, crop in CROP_WORDS.items() if any(_matches(tokens, i, (word,)) for i in range(len(tokens)))}


def _longest_first(tokens: list[str]) -> dict[int, str]:
    """Start of each name found -> the name; longer names claim their words before shorter ones."""
    names = [n for aliases in ALIASES.values() for n in aliases] + list(AMBIGUOUS) + list(NOT_LISTED)
    found = [(len(name.split()), i, name) for name in names for i in range(len(tokens))
             if _matches(tokens, i, tuple(name.split()))]
    taken: set[int] = set()
    chosen = {}
    for length, start, name in sorted(found, key=lambda f: (-f[0], f[1])):
        span = set(range(start, start + length))
        if not span & taken:
            taken |= span
            chosen[start] = name
    return chosen


def _matches(tokens: list[str], start: int, name: tuple[str, ...]) -> bool:
    """The name's words at `start`, each possibly in plural ("pulgones", "moscas blancas")."""
    if start + len(name) > len(tokens):
        return False
    return all(tokens[start + j] in (word, word + "s", word + "es") for j, word in enumerate(name))


def _resolve(name: str, crops: set[str]) -> Pest | None:
    if name in NOT_LISTED:
        return None
    if name in AMBIGUOUS:
        candidates = [BY_KEY[key] for key in AMBIGUOUS[name]]
        if not crops:
            return None if name in NEEDS_CROP else candidates[0]
        return next((pest for pest in candidates if crops & set(pest.crops)), None)
    return next(BY_KEY[key] for key, aliases in ALIASES.items() if name in aliases)


def load_knowledge(directory: Path) -> list[tuple[str, str]]:
    """(title, body) of each Markdown pest text, by file name; the title is the "# " first line.
    SOURCES.md lists where the texts come from: it is not advice, so it is not returned."""
    entries = []
    for path in sorted(directory.glob("*.md")):
        if path.name not in NOT_PEST_FILES:
            entries.append(parse_knowledge(path.read_text(encoding="utf-8"), path.name))
    return entries


def parse_knowledge(text: str, name: str = "texto") -> tuple[str, str]:
    first, _, body = text.strip().partition("\n")
    if not first.startswith("# ") or not first[2:].strip():
        raise ValueError(f"{name}: la primera línea debe ser el título, «# Nombre (Nombre científico)»")
    return first[2:].strip(), body.strip()
