"""Adding a plot to a producer from answers written the way onboarding reads them ("papa",
"hace 1 mes", "aspersión 8 mm/h"). One place for POST /agro/plots, the admin's Plots page and a
sowing told by chat in a plot that does not exist yet. What the answers leave out (place, soil,
irrigation, water source) is as the producer's onboarding gave it; the area is not carried over."""
from __future__ import annotations



from backend.plugin_api import Contact, core, Database
from backend.plugins.agro import profile, store
from backend.plugins.agro.facts import producer_plots

# answer -> (profile key, parser, required)
FIELDS = {"cultivo": ("cultivo", profile.parse_crop, True),
          "fecha_siembra": ("fecha_siembra", profile.parse_planting_date, True),
          "area": ("area_ha", profile.parse_area, False),
          "ubicacion": ("ubicacion", profile.parse_location, False),
          "suelo": ("suelo", profile.parse_soil, False),
          "riego": ("riego", profile.parse_irrigation, False),
          "fuente_agua": ("fuente_agua", profile.parse_water_source, False)}
NAME_LENGTH = 40


class PlotRefused(ValueError):
    """Nothing was saved; `field` names the answer at fault (Spanish message from the parsers)."""

    def __init__(self, message: str, field: str, exists: bool = False):
        super().__init__(message)
        self.field = field
        self.exists = exists


def plot_name(raw: object) -> str:
    """'Lote 2 ' -> 'lote 2': how plots are named and matched."""
    return str(raw or "").strip().lower()[:NAME_LENGTH]


def find_plot(plots: list[store.Plot], name: object | None) -> store.Plot | None:
    """The plot a producer names ("Lote 2"), None if they have none by that name; with no name,
    the first one (most producers have one)."""
    if not name:
        return plots[0] if plots else None
    return next((p for p in plots if p.name == plot_name(name)), None)


def add_plot(db: Database, contact: Contact, name: str, answers: dict) -> store.Plot:
    """The new plot, or PlotRefused: a missing or unreadable answer, or a name already taken.
    The producer's onboarding plot ("lote 1") is made first, in the same transaction: a refused
    plot leaves nothing behind, not even that one."""
    name, described = read_plot(contact, name, answers)
    with core.transaction(db) as connection:
        producer_plots(db, contact)
        return save_new_plot(connection, contact, name, described)


def read_plot(contact: Contact, name: object, answers: dict) -> tuple[str, dict]:
    """(plot name, the plot as store.save_plot takes it), or PlotRefused naming the answer at fault."""
    name = plot_name(name)
    if not name:
        raise PlotRefused("Falta el nombre del lote.", "lote")
    described = {key: value for key, value in contact.profile.items() if key != "area_ha"}
    described["variedad"] = str(answers.get("variedad") or "")[:60]
    for field, (key, parse, required) in FIELDS.items():
        answer = answers.get(field)
        if answer in (None, ""):
            if required:
                raise PlotRefused(f"Falta «{field}».", field)
            continue
        if not isinstance(answer, str):
            raise PlotRefused(f"«{field}» debe ser texto, como lo escribiría el productor.", field)
        try:
            described[key] = parse(answer)
        except ValueError as problem:
            raise PlotRefused(str(problem), field) from None
    return name, described


def save_new_plot(connection: Database, contact: Contact, name: str, described: dict) -> store.Plot:
    """Inside the caller's transaction: refuses a name the producer already uses."""
    if any(p.name == name for p in store.plots(connection, contact.id)):
        raise PlotRefused(f"Ya tienes un lote llamado «{name}».", "lote", exists=True)
    store.save_plot(connection, contact.id, name, described)
    return next(p for p in store.plots(connection, contact.id) if p.name == name)
