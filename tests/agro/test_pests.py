"""Pests named the way producers write them, and the knowledge texts the backend indexes."""
import re
from pathlib import Path

import pytest

from backend.plugins.agro.pests import ALIASES, AMBIGUOUS, BY_KEY, PESTS, find_pest, load_knowledge, parse_knowledge
from backend.text import plain

KNOWLEDGE = Path(__file__).resolve().parents[2] / "data" / "agro" / "knowledge"
SECTIONS = ("Cultivos", "Síntomas", "Cómo monitorear", "Control cultural", "Control biológico", "Control químico",
            "Cuándo pedir ayuda")


@pytest.mark.parametrize("text, key", [
    ("vi gusano cogollero en el lote 2", "gusano_cogollero"),
    ("mi papa tiene rancha", "rancha"),
    ("hay broca en el café", "broca_cafe"),
    ("HAY BROCA EN EL CAFE", "broca_cafe"),
    ("el maíz está lleno de cogolleros", "gusano_cogollero"),
    ("tizón tardío en mis papas", "rancha"),
    ("encontré gusano blanco al cosechar", "gorgojo_andes"),
    ("la papa del almacén tiene polilla", "polilla_papa"),
    ("hay polilla en mis tomates", "polilla_tomate"),
    ("las hojas del tomate tienen tuta", "polilla_tomate"),
    ("cogollero del tomate en el invernadero", "polilla_tomate"),
    ("roya amarilla en el cafetal", "roya_cafe"),
    ("muchas moscas blancas en el frijol", "mosca_blanca"),
    ("pulgones en las habas", "pulgones"),
    ("áfidos en la papa", "pulgones"),
    ("mildiu en la quinua", "mildiu_quinua"),
    ("mildiu en la papa", "rancha"),
    ("monilia en el cacao", "moniliasis"),
    ("mazorca negra en el cacaotal", "mazorca_negra"),
    ("sigatoka en el plátano", "sigatoka_negra"),
    ("moscas de la fruta en las naranjas", "mosca_fruta"),
    ("moscas en los mangos", "mosca_fruta"),
    ("trips en la cebolla", "trips_cebolla"),
    ("arañita roja en el frijol", "aranita_roja"),
])
def test_finds_the_pest_in_free_text(text, key):
    assert find_pest(text) == BY_KEY[key]


@pytest.mark.parametrize("text", [
    "", "todo bien en la chacra", "regué 2 horas el lote 1",
    "roya en el frijol",  # a bean rust, not the coffee one
    "tizón temprano en la papa",  # another disease
    "hay moscas",  # which ones?
    "gorgojo en el maíz guardado",  # a stored-grain weevil, not the Andean one
])
def test_does_not_guess(text):
    assert find_pest(text) is None


def test_the_first_pest_named_wins():
    assert find_pest("primero rancha, luego polilla en la papa").key == "rancha"
    assert find_pest("polilla en la papa y también rancha").key == "polilla_papa"


@pytest.mark.parametrize("pest", PESTS, ids=lambda p: p.key)
def test_a_pest_is_found_by_its_key_and_its_name(pest):
    assert find_pest(pest.key) == pest
    assert find_pest(pest.name_es) == pest
    assert find_pest(pest.name_es.upper()) == pest


def test_the_tables_agree():
    assert set(ALIASES) == set(BY_KEY) and len(BY_KEY) == len(PESTS)
    assert all(key in BY_KEY for keys in AMBIGUOUS.values() for key in keys)
    assert all(alias == plain(alias) for aliases in ALIASES.values() for alias in aliases)  # folded, as matched


def test_every_pest_has_a_knowledge_file_and_nothing_else_is_there():
    files = {path.stem for path in KNOWLEDGE.glob("*.md")} - {"SOURCES"}
    assert files == set(BY_KEY)


def test_the_knowledge_files_parse_with_a_title_naming_the_pest():
    entries = load_knowledge(KNOWLEDGE)
    assert len(entries) == len(PESTS) >= 10
    titles = [title for title, _ in entries]
    assert len(set(titles)) == len(titles)  # the backend keys its index by title
    for title, _ in entries:
        assert re.fullmatch(r"[^()]+ \([^()]+\)", title), title
        assert find_pest(title) is not None, title


@pytest.mark.parametrize("pest", PESTS, ids=lambda p: p.key)
def test_a_knowledge_file_has_the_sections_names_its_crops_and_is_short(pest):
    title, body = parse_knowledge((KNOWLEDGE / f"{pest.key}.md").read_text(encoding="utf-8"))
    assert find_pest(title) == pest
    headings = re.findall(r"^## (.+)$", body, re.MULTILINE)
    assert headings == list(SECTIONS)
    crops_section = plain(body.split("## Cultivos", 1)[1].split("##", 1)[0])
    for crop in pest.crops:
        assert plain(crop) in crops_section, crop
    assert 150 <= len(re.findall(r"\w+", f"{title}\n{body}")) <= 350
    assert "SENASA" in body and "etiqueta" in body  # registered products and the label, always


def test_every_knowledge_file_lists_its_sources():
    sources = (KNOWLEDGE / "SOURCES.md").read_text(encoding="utf-8")
    for pest in PESTS:
        section = sources.split(f"## {pest.key}.md", 1)[1].split("\n## ", 1)[0]
        assert len(re.findall(r"https?://\S+", section)) >= 2, pest.key


def test_load_knowledge_reads_markdown_by_name_and_skips_the_sources(tmp_path):
    (tmp_path / "b.md").write_text("# Beta (B. b)\n\nSegundo.\n", encoding="utf-8")
    (tmp_path / "a.md").write_text("\n# Alfa (A. a)\n## Cultivos\nMaíz.\n", encoding="utf-8")
    (tmp_path / "SOURCES.md").write_text("# Fuentes\n- x\n", encoding="utf-8")
    (tmp_path / "notas.txt").write_text("# No\n", encoding="utf-8")
    assert load_knowledge(tmp_path) == [("Alfa (A. a)", "## Cultivos\nMaíz."), ("Beta (B. b)", "Segundo.")]


@pytest.mark.parametrize("text", ["", "Sin título\n\ntexto", "#\ntexto", "## Sección\ntexto"])
def test_a_text_without_a_title_line_is_refused(text):
    with pytest.raises(ValueError):
        parse_knowledge(text, "x.md")
