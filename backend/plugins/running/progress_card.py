"""The runner's fortnightly progress card: one 800×600 PNG sent on WhatsApp, drawn with Pillow only.

A header (name, period, total and longest run) over four panels: weekly volume as bars, VDOT as a
line, consistency as a ring and mood as a row of faces. Text is Spanish and large, because WhatsApp
shows the image about 360 px wide on a cheap phone.

Everything is drawn at SCALE× and reduced at the end: that anti-aliases rings, faces and lines
without a plotting library. Layout constants are in final pixels, so tests can find the chart.
"""
from __future__ import annotations

import io
import math
import os
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 800, 600
SCALE = 3

# DejaVu ships with Debian (fonts-dejavu-core); Liberation is the usual second sans. Both have á, é, ñ.
REGULAR_FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                 "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf")
BOLD_FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
              "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf")

BACKGROUND = (240, 243, 247)
HEADER = (19, 52, 84)
HEADER_TEXT = (255, 255, 255)
HEADER_MUTED = (170, 196, 222)
PANEL = (255, 255, 255)
PANEL_EDGE = (218, 224, 232)
INK = (30, 39, 52)
MUTED = (98, 110, 126)
GRID = (228, 232, 238)
BAR_COLOR = (238, 108, 30)
LINE_COLOR = (14, 110, 172)
AREA_COLOR = (222, 236, 248)
TRACK = (228, 232, 238)
GOOD, FAIR, LOW = (30, 146, 78), (222, 140, 0), (206, 62, 56)
FACE_OFF = (226, 230, 236)
MOOD_COLORS = {1: (214, 72, 62), 2: (240, 130, 50), 3: (238, 184, 36), 4: (128, 186, 66), 5: (38, 156, 88)}
MOOD_WORDS = {1: "Muy mal", 2: "Mal", 3: "Regular", 4: "Bien", 5: "Excelente"}
MONTHS = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic")

# Layout, in final pixels; boxes are (x0, y0, x1, y1).
HEADER_H = 104
STRIPE_H = 5
PAD = 16
TITLE_H = 46
VOLUME_PANEL = (16, 120, 490, 345)
CONSISTENCY_PANEL = (504, 120, 784, 345)
VDOT_PANEL = (16, 359, 490, 584)
MOOD_PANEL = (504, 359, 784, 584)
# Bars stand on the plot's bottom edge; the top 24 px leave room for the tallest bar's label.
VOLUME_PLOT = (VOLUME_PANEL[0] + 10, VOLUME_PANEL[1] + TITLE_H + 26,
               VOLUME_PANEL[2] - 10, VOLUME_PANEL[3] - 36)
VDOT_PLOT = (VDOT_PANEL[0] + 62, VDOT_PANEL[1] + TITLE_H + 16, VDOT_PANEL[2] - 62, VDOT_PANEL[3] - 38)
MAX_WEEKS = 8
MAX_BAR_WIDTH = 48


@dataclass(frozen=True)
class CardData:
    name: str
    period_start: date
    period_end: date
    weekly_km: list[tuple[str, float]]      # (week label like "3 nov", km), oldest first
    vdot_trend: list[tuple[date, float]]    # may be empty or a single point
    planned_runs: int
    done_runs: int
    moods: list[int]                        # 1..5 per logged run (1 = muy mal, 5 = excelente)
    total_km: float
    longest_run_km: float


def render_card(data: CardData) -> bytes:
    """The card as PNG bytes, 800×600 RGB; the same data always gives the same bytes."""
    canvas = Canvas()
    draw_header(canvas, data)
    draw_volume(canvas, data.weekly_km)
    draw_consistency(canvas, data.planned_runs, data.done_runs)
    draw_vdot(canvas, data.vdot_trend)
    draw_mood(canvas, data.moods)
    out = io.BytesIO()
    canvas.finish().save(out, "PNG", optimize=True)
    return out.getvalue()


# ---- fonts and text --------------------------------------------------------------------------

@lru_cache(maxsize=None)
def font_file(bold: bool) -> str | None:
    """The first installed font of the wanted weight, else a regular one, else None."""
    for path in (BOLD_FONTS if bold else ()) + REGULAR_FONTS:
        if os.path.isfile(path):
            return path
    return None


@lru_cache(maxsize=None)
def _font(size: int, bold: bool) -> ImageFont.FreeTypeFont:
    path = font_file(bold)
    if path is None:
        return ImageFont.load_default(size=size)
    # The basic layout engine gives the same pixels with or without libraqm installed.
    return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC)


def _renderable(text: str) -> str:
    """Pillow's built-in font has no accents (it draws boxes): spell plainly rather than badly."""
    if font_file(False) is not None:
        return text
    for fancy, plain in (("–", "-"), ("—", "-"), ("−", "-"), ("±", "+-")):
        text = text.replace(fancy, plain)
    return "".join(c for c in unicodedata.normalize("NFKD", text) if c.isascii() or c in "·…")


class Canvas:
    """ImageDraw in final-pixel units over a SCALE× image."""

    def __init__(self) -> None:
        self.image = Image.new("RGB", (WIDTH * SCALE, HEIGHT * SCALE), BACKGROUND)
        self.draw = ImageDraw.Draw(self.image)

    @staticmethod
    def _s(values) -> list[int]:
        return [round(v * SCALE) for v in values]

    def rect(self, box, fill, radius=0, outline=None, width=1, corners=None) -> None:
        self.draw.rounded_rectangle(self._s(box), radius=radius * SCALE, fill=fill, outline=outline,
                                    width=width * SCALE, corners=corners)

    def ellipse(self, box, fill=None, outline=None, width=1) -> None:
        self.draw.ellipse(self._s(box), fill=fill, outline=outline, width=round(width * SCALE))

    def arc(self, box, start, end, fill, width) -> None:
        self.draw.arc(self._s(box), start, end, fill=fill, width=round(width * SCALE))

    def line(self, points, fill, width=1) -> None:
        flat = self._s(v for point in points for v in point)
        self.draw.line(flat, fill=fill, width=round(width * SCALE), joint="curve")

    def polygon(self, points, fill) -> None:
        self.draw.polygon(self._s(v for point in points for v in point), fill=fill)

    def text_width(self, text: str, size: int, bold: bool = False) -> float:
        return _font(size * SCALE, bold).getlength(_renderable(text)) / SCALE

    def text(self, xy, text, size, bold=False, fill=INK, anchor="la", max_width=None) -> float:
        """Draw text; with max_width, shrink it (down to 3/4 size) and then cut it with "…"."""
        if max_width is not None:
            text, size = self.fit(text, size, bold, max_width)
        shown = _renderable(text)
        self.draw.text(self._s(xy), shown, font=_font(size * SCALE, bold), fill=fill, anchor=anchor)
        return self.text_width(text, size, bold)

    def fit(self, text: str, size: int, bold: bool, max_width: float) -> tuple[str, int]:
        size = self.shared_size([text], size, bold, max_width)
        return ellipsize(text, lambda t: self.text_width(t, size, bold) <= max_width), size

    def shared_size(self, texts, size: int, bold: bool, max_width: float) -> int:
        """The largest size, down to 3/4 of the wanted one, at which every text fits: a row of labels
        in one size looks tidier than each shrunk on its own."""
        smallest = max(9, size * 3 // 4)
        while size > smallest and any(self.text_width(t, size, bold) > max_width for t in texts):
            size -= 1
        return size

    def finish(self) -> Image.Image:
        # A box filter keeps flat areas at their exact colour, which the tests rely on.
        return self.image.reduce(SCALE)


def ellipsize(text: str, fits) -> str:
    """The longest prefix of text, ending in "…", that fits (the whole text when it does)."""
    if fits(text):
        return text
    for end in range(len(text) - 1, 0, -1):
        candidate = text[:end].rstrip() + "…"
        if fits(candidate):
            return candidate
    return "…"


# ---- numbers and dates in Spanish ---------------------------------------------------------------

def clean(value: float) -> float:
    """Negative, NaN or infinite inputs count as nothing rather than breaking the drawing."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return 0.0
    return value if math.isfinite(value) and value > 0 else 0.0


def decimal(value: float, places: int = 1) -> str:
    """Spanish style: decimal comma, dots between thousands, no trailing ",0"."""
    text = f"{value:,.{places}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


def compact(value: float) -> str:
    """Short enough for a label and never cut: "27,5", "1.250", "123 mil", "4,5 M", "999 M+".
    Whole numbers from 100 up, where the decimal only adds width."""
    if value < 10_000:
        return decimal(value, 1 if value < 100 else 0)
    if value < 1e6:
        return f"{decimal(value / 1e3, 0)} mil"
    if value < 1e9:
        return f"{decimal(value / 1e6, 1 if value < 1e7 else 0)} M"
    return "999 M+"  # only a bug upstream gets here; say "a lot" rather than a truncated number


def short_date(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]}"


def format_period(start: date, end: date) -> str:
    """ "3–16 nov 2026", "27 oct – 9 nov 2026" or "22 dic 2026 – 4 ene 2027"."""
    if start == end:
        return f"{short_date(start)} {start.year}"
    if start.year != end.year:
        return f"{short_date(start)} {start.year} – {short_date(end)} {end.year}"
    if start.month != end.month:
        return f"{short_date(start)} – {short_date(end)} {end.year}"
    return f"{start.day}–{end.day} {MONTHS[end.month - 1]} {end.year}"


# ---- header and panels ------------------------------------------------------------------------

def draw_header(canvas: Canvas, data: CardData) -> None:
    canvas.rect((0, 0, WIDTH, HEADER_H), HEADER)
    canvas.rect((0, HEADER_H, WIDTH, HEADER_H + STRIPE_H), BAR_COLOR)
    stats_left = draw_header_stats(canvas, data)
    name_width = stats_left - 24 - 24
    canvas.text((24, 16), data.name.strip() or "Corredor", 32, bold=True, fill=HEADER_TEXT,
                max_width=name_width)
    canvas.text((24, 64), "Tu progreso · " + format_period(data.period_start, data.period_end), 19,
                fill=HEADER_MUTED, max_width=name_width)


def draw_header_stats(canvas: Canvas, data: CardData) -> float:
    """Total and longest run at the top right; returns where they start so the name stops short."""
    right = WIDTH - 24
    for value, label in ((data.longest_run_km, "la más larga"), (data.total_km, "en total")):
        text = compact(clean(value)) + " km"
        canvas.text((right, 20), text, 28, bold=True, fill=HEADER_TEXT, anchor="ra", max_width=150)
        canvas.text((right, 60), label, 16, fill=HEADER_MUTED, anchor="ra")
        width = max(min(canvas.text_width(text, 28, True), 150), canvas.text_width(label, 16))
        right -= width + 30
    return right + 30


def draw_panel(canvas: Canvas, box, title: str, note: str = "", note_fill=MUTED) -> None:
    canvas.rect(box, PANEL, radius=14, outline=PANEL_EDGE, width=1)
    x0, y0, x1, _ = box
    canvas.text((x0 + PAD, y0 + 14), title, 19, bold=True)
    if note:
        room = x1 - x0 - 2 * PAD - canvas.text_width(title, 19, True) - 12
        # A coloured note is news (VDOT went up): bold; a grey one only explains.
        canvas.text((x1 - PAD, y0 + 16), note, 16, bold=note_fill is not MUTED, fill=note_fill,
                    anchor="ra", max_width=room)


def draw_empty(canvas: Canvas, box, message: str, detail: str = "") -> None:
    """A centred note where a chart would be, so an empty panel still reads as intended."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + TITLE_H + box[3]) / 2
    width = box[2] - box[0] - 2 * PAD
    canvas.text((cx, cy - (10 if detail else 0)), message, 22, fill=MUTED, anchor="mm", max_width=width)
    if detail:
        canvas.text((cx, cy + 20), detail, 16, fill=MUTED, anchor="mm", max_width=width)


# ---- weekly volume ----------------------------------------------------------------------------

def recent_weeks(weekly_km: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """The last MAX_WEEKS weeks with cleaned values: more bars would not fit legibly."""
    return [(str(label), clean(km)) for label, km in weekly_km[-MAX_WEEKS:]]


def bar_columns(count: int) -> list[tuple[float, float]]:
    """Left and right x of each week's bar, evenly spread over VOLUME_PLOT."""
    x0, _, x1, _ = VOLUME_PLOT
    slot = (x1 - x0) / max(count, 1)
    width = min(slot * 0.62, MAX_BAR_WIDTH)
    return [(x0 + slot * (i + 0.5) - width / 2, x0 + slot * (i + 0.5) + width / 2) for i in range(count)]


def bar_boxes(weekly_km: list[tuple[str, float]]) -> list[tuple[float, float, float, float] | None]:
    """Each week's bar (None for a week without kilometres), scaled to the biggest week."""
    weeks = recent_weeks(weekly_km)
    _, top, _, base = VOLUME_PLOT
    peak = max((km for _, km in weeks), default=0.0)
    boxes = []
    for (left, right), (_, km) in zip(bar_columns(len(weeks)), weeks):
        if km <= 0:
            boxes.append(None)
            continue
        height = max((base - top) * km / peak, 3)  # a tiny week stays visible beside a huge one
        boxes.append((left, base - height, right, base))
    return boxes


def draw_volume(canvas: Canvas, weekly_km: list[tuple[str, float]]) -> None:
    weeks = recent_weeks(weekly_km)
    peak = max((km for _, km in weeks), default=0.0)
    draw_panel(canvas, VOLUME_PANEL, "Volumen semanal", "km por semana")
    if not weeks:
        draw_empty(canvas, VOLUME_PANEL, "sin datos aún", "registra tus carreras")
        return
    x0, _, x1, base = VOLUME_PLOT
    canvas.line([(x0, base + 1), (x1, base + 1)], GRID, width=2)
    room = (x1 - x0) / len(weeks) - 6  # keeps a gap between neighbouring labels
    value_size = canvas.shared_size([compact(km) for _, km in weeks], 16, True, room)
    label_size = canvas.shared_size([label for label, _ in weeks], 15, False, room)
    for (left, right), box, (label, km) in zip(bar_columns(len(weeks)), bar_boxes(weekly_km), weeks):
        centre = (left + right) / 2
        if box is not None:
            canvas.rect(box, BAR_COLOR, radius=min(5, (right - left) / 4), corners=(True, True, False, False))
        label_y = (box[1] if box else base) - 6
        canvas.text((centre, label_y), compact(km), value_size, bold=True, fill=INK if km else MUTED,
                    anchor="ms", max_width=room)
        canvas.text((centre, base + 10), label, label_size, fill=MUTED, anchor="ma", max_width=room)
    if peak == 0:
        draw_empty(canvas, VOLUME_PANEL, "sin kilómetros aún")


# ---- consistency ------------------------------------------------------------------------------

def draw_consistency(canvas: Canvas, planned: int, done: int) -> None:
    planned, done = max(int(planned), 0), max(int(done), 0)
    share = done / planned if planned else None
    draw_panel(canvas, CONSISTENCY_PANEL, "Constancia")
    x0, y0, x1, y1 = CONSISTENCY_PANEL
    size = 118
    cx, cy = x0 + PAD + 4 + size / 2, (y0 + TITLE_H + y1) / 2 + 2
    ring = (cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2)
    canvas.ellipse(ring, outline=TRACK, width=15)
    colour = consistency_colour(share)
    if share:
        # Start at 12 o'clock; more sessions than planned fill the ring and show the real percentage.
        canvas.arc(ring, -90, -90 + 360 * min(share, 1.0), colour, 15)
    centre = "—" if share is None else f"{round(share * 100)}%" if share < 10 else "+999%"
    canvas.text((cx, cy), centre, 30 if len(centre) <= 4 else 24, bold=True, fill=INK, anchor="mm",
                max_width=size - 40)
    draw_consistency_text(canvas, (cx + size / 2 + 16, x1 - PAD), cy, planned, done, colour)


def draw_consistency_text(canvas: Canvas, span, cy: float, planned: int, done: int, colour) -> None:
    left, right = span
    width = right - left
    if not planned:
        canvas.text((left, cy - 22), "sin sesiones", 18, bold=True, max_width=width)
        canvas.text((left, cy + 4), "planificadas", 16, fill=MUTED, max_width=width)
        return
    canvas.text((left, cy - 36), f"{compact(done)} de {compact(planned)}", 26, bold=True, max_width=width)
    canvas.text((left, cy - 2), "sesión" if planned == 1 else "sesiones", 17, fill=MUTED, max_width=width)
    canvas.text((left, cy + 24), consistency_word(done / planned), 17, bold=True, fill=colour,
                max_width=width)


def consistency_colour(share: float | None):
    if share is None:
        return MUTED
    return GOOD if share >= 0.8 else FAIR if share >= 0.5 else LOW


def consistency_word(share: float) -> str:
    if share >= 0.9:
        return "¡Excelente!"
    if share >= 0.75:
        return "Muy bien"
    return "Vas bien" if share >= 0.5 else "A retomar"


# ---- VDOT trend -------------------------------------------------------------------------------

def vdot_points(trend: list[tuple[date, float]]) -> list[tuple[date, float]]:
    """Usable points by date; the stable sort keeps same-day points in the order they were logged."""
    points = [(day, clean(value)) for day, value in trend if clean(value)]
    return sorted(points, key=lambda point: point[0])


def draw_vdot(canvas: Canvas, trend: list[tuple[date, float]]) -> None:
    points = vdot_points(trend)
    change = points[-1][1] - points[0][1] if len(points) >= 2 else None
    note = ""
    if change is not None:
        sign = "+" if change >= 0.05 else "−" if change <= -0.05 else "±"
        note = f"{sign}{compact(abs(change))}"
    draw_panel(canvas, VDOT_PANEL, "VDOT · tu forma", note,
               note_fill=GOOD if change and change >= 0.05 else MUTED)
    if len(points) < 2:
        detail = f"por ahora: {compact(points[0][1])}" if points else "se calcula con tus carreras"
        draw_empty(canvas, VDOT_PANEL, "sin datos aún", detail)
        return
    xy = vdot_xy(points)
    x0, y0, x1, y1 = VDOT_PLOT
    for y in (y0, (y0 + y1) / 2, y1):
        canvas.line([(x0, y), (x1, y)], GRID, width=1)
    canvas.polygon(xy + [(xy[-1][0], y1), (xy[0][0], y1)], AREA_COLOR)
    canvas.line(xy, LINE_COLOR, width=4)
    for (x, y), fill in ((xy[0], PANEL), (xy[-1], LINE_COLOR)):
        canvas.ellipse((x - 6, y - 6, x + 6, y + 6), fill=fill, outline=LINE_COLOR, width=3)
    canvas.text((x0 - 12, xy[0][1]), compact(points[0][1]), 18, fill=MUTED, anchor="rm", max_width=46)
    canvas.text((x1 + 12, xy[-1][1]), compact(points[-1][1]), 20, bold=True, fill=LINE_COLOR, anchor="lm",
                max_width=46)
    canvas.text((x0, y1 + 10), short_date(points[0][0]), 15, fill=MUTED, anchor="ma")
    canvas.text((x1, y1 + 10), short_date(points[-1][0]), 15, fill=MUTED, anchor="ma")


def vdot_xy(points: list[tuple[date, float]]) -> list[tuple[float, float]]:
    """Points placed by date (by order when all share a day), the values spread over the plot."""
    x0, y0, x1, y1 = VDOT_PLOT
    days = [(day - points[0][0]).days for day, _ in points]
    if days[-1] <= 0:
        days = list(range(len(points)))
    values = [value for _, value in points]
    low, high = min(values), max(values)
    if high - low < 1:  # a flat trend stays mid-height instead of magnifying noise
        low, high = (low + high) / 2 - 0.5, (low + high) / 2 + 0.5
    margin = (high - low) * 0.12
    low, high = low - margin, high + margin
    return [(x0 + (x1 - x0) * d / days[-1], y1 - (y1 - y0) * (v - low) / (high - low))
            for d, v in zip(days, values)]


# ---- mood -------------------------------------------------------------------------------------

def draw_mood(canvas: Canvas, moods: list[int]) -> None:
    levels = [m for m in moods if m in MOOD_WORDS]  # anything outside 1..5 is a logging error: skip it
    runs = len(levels)
    note = f"{compact(runs)} {'registro' if runs == 1 else 'registros'}" if runs else ""
    draw_panel(canvas, MOOD_PANEL, "Ánimo", note)
    x0, y0, x1, y1 = MOOD_PANEL
    average = sum(levels) / runs if runs else None
    typical = int(average + 0.5) if average is not None else None  # half up: 3,5 reads "Bien"
    if average is None:
        canvas.text((x0 + PAD, y0 + TITLE_H + 6), "sin registros aún", 22, fill=MUTED)
    else:
        used = canvas.text((x0 + PAD, y0 + TITLE_H + 2), MOOD_WORDS[typical], 28, bold=True,
                           fill=darker(MOOD_COLORS[typical]), max_width=x1 - x0 - 2 * PAD - 90)
        canvas.text((x0 + PAD + used + 10, y0 + TITLE_H + 12), f"{decimal(average)} de 5", 17, fill=MUTED)
    slot = (x1 - x0 - 2 * PAD) / 5
    for level in range(1, 6):
        count = levels.count(level)
        cx, cy = x0 + PAD + slot * (level - 0.5), y1 - 78
        draw_face(canvas, cx, cy, 26 if level == typical else 21, level, lit=count > 0)
        if runs:
            canvas.text((cx, y1 - 36), str(count), 17, bold=bool(count), fill=INK if count else MUTED,
                        anchor="ma", max_width=slot - 4)


def darker(colour: tuple[int, int, int]) -> tuple[int, int, int]:
    """The face colours are light for a fill; as text on white they need more contrast."""
    return tuple(round(c * 0.78) for c in colour)


def draw_face(canvas: Canvas, cx: float, cy: float, r: float, level: int, lit: bool) -> None:
    """A round face whose mouth bends from a frown (1) to a wide smile (5); grey when unused."""
    fill = MOOD_COLORS[level] if lit else FACE_OFF
    ink = INK if lit else (180, 186, 196)
    canvas.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    eye = r * 0.13
    for dx in (-0.35 * r, 0.35 * r):
        canvas.ellipse((cx + dx - eye, cy - 0.28 * r - eye, cx + dx + eye, cy - 0.28 * r + eye), fill=ink)
    width, bend = r * 0.52, (level - 3) * r * 0.2
    mouth_y = cy + 0.32 * r
    if bend == 0:
        canvas.line([(cx - width * 0.8, mouth_y), (cx + width * 0.8, mouth_y)], ink, width=r * 0.15)
    elif bend > 0:  # the lower half of an ellipse: a smile
        box = (cx - width, mouth_y - bend * 2, cx + width, mouth_y)
        canvas.arc(box, 10, 170, ink, r * 0.15)
    else:  # the upper half: a frown
        box = (cx - width, mouth_y, cx + width, mouth_y - bend * 2)
        canvas.arc(box, 190, 350, ink, r * 0.15)
