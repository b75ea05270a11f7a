"""Crop lookup and the FAO-56 crop coefficient curve (Fig. 25, eq. 66), root growth and the
Table 22 depletion fraction."""
import pytest

from backend.plugins.agro.crops import (ANNUAL, CUTTING, PERENNIAL, UnknownCrop, all_crops,
                                        lookup_crop)

REQUESTED = ["maiz", "choclo", "papa", "arroz", "quinua", "frijol", "vainita", "cafe", "cacao", "platano",
             "palta", "tomate", "cebolla", "alfalfa"]


@pytest.mark.parametrize(("name", "key"), [
    ("maíz", "maiz"), ("MAIZ", "maiz"), ("Maíz amarillo duro", "maiz"), ("corn", "maiz"),
    ("choclo", "choclo"), ("sweet corn", "choclo"), ("papa", "papa"), ("Papas", "papa"), ("potato", "papa"),
    ("arroz", "arroz"), ("quinoa", "quinua"), ("Quinua", "quinua"), ("frejol", "frijol"), ("fríjoles", "frijol"),
    ("vainita", "vainita"), ("frijol verde", "vainita"), ("Café", "cafe"), ("coffee", "cafe"), ("cacao", "cacao"),
    ("plátano", "platano"), ("banano", "platano"), ("aguacate", "palta"), ("Palta", "palta"),
    ("tomates", "tomate"), ("cebolla roja", "cebolla"), ("alfalfa", "alfalfa"), ("  Caña de  azúcar ", "cana_azucar"),
    ("limón", "citricos"), ("cebada", "cebada"), ("trigo", "trigo"), ("zanahorias", "zanahoria"),
])
def test_lookup_ignores_accents_case_spacing_and_plurals(name, key):
    assert lookup_crop(name).key == key


def test_unknown_crop_is_a_value_error_listing_the_known_ones():
    with pytest.raises(UnknownCrop) as raised:
        lookup_crop("yuca")
    assert isinstance(raised.value, ValueError)
    assert "yuca" in str(raised.value)
    for name in ("papa", "quinua", "café", "alfalfa"):
        assert name in str(raised.value)


def test_every_requested_crop_is_there_with_a_source():
    keys = {crop.key for crop in all_crops()}
    assert set(REQUESTED) <= keys
    for crop in all_crops():
        assert crop.source and crop.name_es
        assert 0 < crop.kc_ini <= 1.3 and 0 < crop.kc_mid <= 1.3 and 0 < crop.kc_end <= 1.3
        assert 0.15 <= crop.root_max_m <= 2 and 0.1 <= crop.p <= 0.8


@pytest.mark.parametrize(("key", "lengths", "kcs", "root", "p"), [
    # FAO-56 Tables 11, 12 and 22, the rows named in data/agro/SOURCES.md
    ("maiz", (25, 40, 45, 30), (0.30, 1.20, 0.35), 1.0, 0.55),
    ("papa", (25, 30, 40, 30), (0.50, 1.15, 0.75), 0.4, 0.35),
    ("tomate", (30, 40, 40, 25), (0.60, 1.15, 0.80), 0.7, 0.40),
    ("cebolla", (15, 25, 70, 40), (0.70, 1.05, 0.75), 0.3, 0.30),
    ("arroz", (30, 30, 60, 30), (1.05, 1.20, 0.75), 0.5, 0.20),
    ("frijol", (15, 25, 35, 20), (0.40, 1.15, 0.35), 0.6, 0.45),
    ("cacao", (0, 0, 0, 0), (1.00, 1.05, 1.05), 0.7, 0.30),
])
def test_table_values(key, lengths, kcs, root, p):
    crop = lookup_crop(key)
    assert crop.lengths == lengths
    assert (crop.kc_ini, crop.kc_mid, crop.kc_end) == kcs
    assert (crop.root_max_m, crop.p) == (root, p)


def test_annual_curve_follows_figure_25():
    maize = lookup_crop("maiz")  # 25 / 40 / 45 / 30 days; Kc 0.30 / 1.20 / 0.35
    assert [maize.stage(d) for d in (0, 24, 25, 64, 65, 109, 110, 139, 140, 400)] == [
        "inicial", "inicial", "desarrollo", "desarrollo", "media", "media", "final", "final", "cosechado",
        "cosechado"]
    assert maize.kc(0) == maize.kc(24) == 0.30
    assert maize.kc(25 + 20) == pytest.approx((0.30 + 1.20) / 2)  # eq. 66 halfway through development
    assert maize.kc(65) == maize.kc(109) == 1.20
    assert maize.kc(110 + 15) == pytest.approx((1.20 + 0.35) / 2)  # halfway through the late stage
    assert maize.kc(139) == pytest.approx(0.35, abs=0.03)
    assert maize.kc(140) == 0.0
    assert maize.season_days == 140


def test_curve_is_continuous_but_at_harvest_and_cuttings():
    for crop in all_crops():
        for day in range(0, 500):
            cut = crop.stage(day) == "final" and crop.stage(day + 1) == "inicial"
            if crop.stage(day + 1) != "cosechado" and not cut:
                assert abs(crop.kc(day + 1) - crop.kc(day)) <= 0.1, (crop.key, day)


def test_day_before_planting_is_refused():
    with pytest.raises(ValueError, match="before planting"):
        lookup_crop("papa").kc(-1)


def test_roots_grow_from_15_cm_to_the_table_22_depth_over_development():
    maize = lookup_crop("maiz")
    assert maize.root_depth(0) == 0.15
    assert maize.root_depth(65 // 2) == pytest.approx(0.15 + (1.0 - 0.15) * 32 / 65)
    assert maize.root_depth(65) == maize.root_depth(300) == 1.0
    depths = [maize.root_depth(d) for d in range(140)]
    assert depths == sorted(depths)


def test_depletion_fraction_follows_the_table_22_footnote():
    maize = lookup_crop("maiz")  # p = 0.55 at ETc 5 mm/day
    assert maize.depletion_fraction(5.0) == pytest.approx(0.55)
    assert maize.depletion_fraction(3.0) == pytest.approx(0.63)
    assert maize.depletion_fraction(8.0) == pytest.approx(0.43)
    assert maize.depletion_fraction(0.0) == pytest.approx(0.75)
    assert lookup_crop("palta").depletion_fraction(0.0) == 0.8  # 0.9 capped
    assert lookup_crop("arroz").depletion_fraction(10.0) == 0.1  # 0.0 capped


def test_evergreen_perennials_are_at_mid_season_from_the_start_and_forever():
    for key in ("cafe", "cacao", "palta", "citricos"):
        crop = lookup_crop(key)
        assert crop.habit == PERENNIAL and crop.season_days is None
        for day in (0, 100, 5000):
            assert crop.stage(day) == "media"
            assert crop.kc(day) == crop.kc_mid
            assert crop.root_depth(day) == crop.root_max_m


def test_banana_establishes_then_stays_at_mid_season():
    banana = lookup_crop("platano")
    assert banana.kc(0) == 0.50
    assert banana.kc(120 + 45) == pytest.approx(0.80)
    assert banana.stage(210) == banana.stage(3000) == "media"
    assert banana.kc(3000) == 1.10


def test_alfalfa_repeats_its_cutting_cycles_and_is_never_harvested():
    alfalfa = lookup_crop("alfalfa")
    assert alfalfa.habit == CUTTING and alfalfa.season_days is None
    first_cycle, cycle = 60, 45
    for start in (first_cycle, first_cycle + cycle, first_cycle + 10 * cycle):
        assert alfalfa.stage(start) == "inicial" and alfalfa.kc(start) == 0.40
        assert alfalfa.stage(start + 5 + 20) == "media" and alfalfa.kc(start + 25) == 1.20
        assert alfalfa.stage(start + cycle - 1) == "final"
    assert alfalfa.root_depth(first_cycle + 3 * cycle) == alfalfa.root_max_m
    assert all(alfalfa.stage(d) != "cosechado" for d in range(2000))


def test_habits():
    assert {c.habit for c in all_crops()} == {ANNUAL, PERENNIAL, CUTTING}
    assert lookup_crop("arroz").note  # flooded rice is not scheduled by depletion: said to the producer
