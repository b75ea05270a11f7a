"""The runner's progress card: a real 800×600 PNG, drawn from the data, stable, and unbreakable by
odd inputs. Pixel checks use the module's own layout constants, so they follow layout changes."""
from __future__ import annotations

import io
import math
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from backend.plugins.running import progress_card as card
from backend.plugins.running.progress_card import CardData, render_card

START = date(2026, 11, 3)


def sample(**changes) -> CardData:
    data = CardData(
        name="Lucía Quispe",
        period_start=START,
        period_end=START + timedelta(days=13),
        weekly_km=[("22 sep", 20.0), ("29 sep", 23.5), ("6 oct", 26.0), ("13 oct", 18.5),
                   ("20 oct", 27.5), ("27 oct", 30.0), ("3 nov", 32.0), ("10 nov", 34.0)],
        vdot_trend=[(START - timedelta(weeks=6 - i), 44.1 + 0.3 * i) for i in range(8)],
        planned_runs=20,
        done_runs=18,
        moods=[4, 5, 3, 4, 2, 5],
        total_km=66.0,
        longest_run_km=16.5,
    )
    return replace(data, **changes)


def image(data: CardData) -> Image.Image:
    return Image.open(io.BytesIO(render_card(data)))


def inside(box, inset: float = 1) -> tuple[int, int, int, int]:
    """Whole pixels strictly within a float box, away from its anti-aliased edges."""
    x0, y0, x1, y1 = box
    return math.ceil(x0 + inset), math.ceil(y0 + inset), math.floor(x1 - inset), math.floor(y1 - inset)


def colours(picture: Image.Image, box) -> set[tuple[int, int, int]]:
    return {colour for _, colour in picture.crop(box).getcolors(maxcolors=1 << 20)}


def test_a_valid_800_by_600_rgb_png():
    data = render_card(sample())
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    picture = Image.open(io.BytesIO(data))
    picture.verify()
    picture = Image.open(io.BytesIO(data))
    assert (picture.format, picture.size, picture.mode) == ("PNG", (800, 600), "RGB")


def test_same_data_same_bytes():
    assert render_card(sample()) == render_card(sample())


@pytest.mark.parametrize("changes", [
    pytest.param(dict(weekly_km=[], vdot_trend=[], planned_runs=0, done_runs=0, moods=[], total_km=0,
                      longest_run_km=0), id="no runs at all"),
    pytest.param(dict(weekly_km=[("3 nov", 0.0), ("10 nov", 0.0)]), id="zero volumes"),
    pytest.param(dict(weekly_km=[("10 nov", 12.3)]), id="single week"),
    pytest.param(dict(vdot_trend=[(START, 44.0)]), id="single VDOT point"),
    pytest.param(dict(vdot_trend=[(START, 44.0), (START, 45.0)]), id="VDOT points on one day"),
    pytest.param(dict(vdot_trend=[(START, 44.0), (START + timedelta(days=7), 44.0)]), id="flat VDOT"),
    pytest.param(dict(name="Maximiliano Alejandro de la Santísima Trinidad Fernández-Huamán " * 4),
                 id="very long name"),
    pytest.param(dict(name="   "), id="blank name"),
    pytest.param(dict(weekly_km=[("3 nov", 1e12), ("10 nov", 0.01)], total_km=1e15, longest_run_km=9e9,
                      planned_runs=10**9, done_runs=10**12, moods=[5] * 10_000,
                      vdot_trend=[(START, 1e7), (START + timedelta(1), 3)]), id="huge values"),
    pytest.param(dict(weekly_km=[("a", float("nan")), ("b", -5.0), ("c", float("inf"))],
                      vdot_trend=[(START, float("nan")), (START, -1.0)], planned_runs=-3, done_runs=-1,
                      moods=[0, 7, -1], total_km=float("nan"), longest_run_km=-2), id="nonsense values"),
    pytest.param(dict(weekly_km=[(f"{i} sem", float(i)) for i in range(30)]), id="more weeks than fit"),
    pytest.param(dict(weekly_km=[("una etiqueta de semana larguísima", 10.0)] * 8), id="long week labels"),
    pytest.param(dict(planned_runs=10, done_runs=14), id="more sessions than planned"),
    pytest.param(dict(planned_runs=1, done_runs=1, moods=[1]), id="one session"),
    pytest.param(dict(period_start=date(2026, 12, 22), period_end=date(2027, 1, 4)), id="across new year"),
])
def test_edge_cases_still_make_a_card(changes):
    assert image(sample(**changes)).size == (800, 600)


def orange(picture: Image.Image, box) -> set[tuple[int, int, int]]:
    """Pixels with any bar colour in them, anti-aliased edges included; text and grid are grey."""
    return {c for c in colours(picture, box) if c[0] - c[2] > 60}


def test_each_week_with_kilometres_gets_a_bar_of_its_height():
    weeks = [("3 nov", 10.0), ("10 nov", 0.0), ("17 nov", 20.0), ("24 nov", 5.0)]
    picture = image(sample(weekly_km=weeks))
    boxes = card.bar_boxes(weeks)
    assert boxes[1] is None
    ten, twenty, five = (box[3] - box[1] for box in boxes if box)
    assert twenty == pytest.approx(2 * ten) and five == pytest.approx(ten / 2)
    _, top, _, _ = card.VOLUME_PLOT
    for box in filter(None, boxes):
        # Solid bar colour inside the bar (below its rounded corners), no bar colour above it.
        left, bar_top, right, bottom = inside(box)
        assert colours(picture, (left, bar_top + 6, right, bottom)) == {card.BAR_COLOR}
        assert not orange(picture, (left, math.floor(top) - 24, right, bar_top - 2))


def test_a_week_without_kilometres_draws_no_bar():
    weeks = [("3 nov", 10.0), ("10 nov", 0.0), ("17 nov", 20.0)]
    picture = image(sample(weekly_km=weeks))
    left, right = card.bar_columns(len(weeks))[1]
    _, top, _, base = card.VOLUME_PLOT
    assert not orange(picture, inside((left, top, right, base)))
    assert orange(picture, inside((card.bar_columns(3)[0][0], top, card.bar_columns(3)[0][1], base)))


def test_different_volumes_draw_a_different_chart():
    chart = inside(card.VOLUME_PLOT, 0)
    rising = image(sample(weekly_km=[("3 nov", 10.0), ("10 nov", 20.0)])).crop(chart)
    falling = image(sample(weekly_km=[("3 nov", 20.0), ("10 nov", 10.0)])).crop(chart)
    assert rising.tobytes() != falling.tobytes()
    # Only the chart changes: the header is drawn from the same name, period and totals.
    header = (0, 0, 800, card.HEADER_H)
    assert (image(sample(weekly_km=[])).crop(header).tobytes()
            == image(sample(weekly_km=[("3 nov", 5.0)])).crop(header).tobytes())


def test_all_zero_weeks_draw_no_bar_at_all():
    picture = image(sample(weekly_km=[("3 nov", 0.0), ("10 nov", 0.0)]))
    assert not orange(picture, inside(card.VOLUME_PLOT, 0))


def test_spanish_periods_and_numbers():
    assert card.format_period(date(2026, 11, 3), date(2026, 11, 16)) == "3–16 nov 2026"
    assert card.format_period(date(2026, 10, 27), date(2026, 11, 9)) == "27 oct – 9 nov 2026"
    assert card.format_period(date(2026, 12, 22), date(2027, 1, 4)) == "22 dic 2026 – 4 ene 2027"
    assert [card.compact(v) for v in (0, 7.0, 27.5, 46.25, 123.4, 1250, 123_456, 4.5e6, 1e12)] == [
        "0", "7", "27,5", "46,2", "123", "1.250", "123 mil", "4,5 M", "999 M+"]


def test_long_text_is_cut_with_an_ellipsis():
    text, size = card.Canvas().fit("Maximiliano Alejandro de la Santísima Trinidad", 32, True, 300)
    assert text.endswith("…") and card.Canvas().text_width(text, size, True) <= 300
    assert card.Canvas().fit("Ana", 32, True, 300) == ("Ana", 32)


@pytest.mark.skipif(not Path(card.REGULAR_FONTS[0]).is_file(), reason="DejaVu not installed")
def test_the_font_has_spanish_accents():
    for bold in (False, True):
        missing = glyph("\U0010fffd", bold)  # a private-use code point: the "no glyph" box
        for letter in "áéíóúñÁÑ¡¿–…":
            assert glyph(letter, bold) != missing, letter


def glyph(letter: str, bold: bool) -> bytes:
    picture = Image.new("L", (60, 60))
    ImageDraw.Draw(picture).text((10, 5), letter, font=card._font(40, bold), fill=255)
    return picture.tobytes()


@pytest.fixture
def no_system_fonts(monkeypatch):
    monkeypatch.setattr(card, "REGULAR_FONTS", ("/nonexistent/Regular.ttf",))
    monkeypatch.setattr(card, "BOLD_FONTS", ("/nonexistent/Bold.ttf",))
    card.font_file.cache_clear()
    card._font.cache_clear()
    yield
    card.font_file.cache_clear()
    card._font.cache_clear()


def test_without_system_fonts_pillows_own_font_spells_plainly(no_system_fonts):
    assert card.font_file(True) is None
    assert image(sample()).size == (800, 600)
    assert card._renderable("Ánimo – sesión ñ, ¡Excelente!") == "Animo - sesion n, Excelente!"
