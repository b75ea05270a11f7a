"""The agro plug-in's own tables: a producer's plots, and which producers an outbreak already
alerted. Field reports (riego, lluvia, plaga, siembra, cosecha) are form submissions, whether they
came by chat or through POST /form/update (reports.py)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from backend.plugin_api import core, Database

MIGRATIONS = [
    (1, "plots and outbreak alerts", """
CREATE TABLE agro_plots (
    id INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,                      -- "lote 1", as the producer calls it
    crop TEXT NOT NULL,                      -- crops.py key
    variety TEXT NOT NULL DEFAULT '',
    planting_date TEXT NOT NULL,
    harvested_on TEXT,
    area_ha REAL,
    latitude REAL,
    longitude REAL,
    elevation_m REAL,
    place TEXT NOT NULL DEFAULT '',
    soil TEXT NOT NULL,                      -- soils.py key
    method TEXT NOT NULL,                    -- goteo, aspersion, gravedad, secano
    rate_mm_h REAL,                          -- the method's application rate, when known
    water_source TEXT NOT NULL DEFAULT '',
    UNIQUE (contact_id, name)
);
CREATE TABLE agro_outbreak_alerts (
    outbreak_key TEXT NOT NULL,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    alerted_at REAL NOT NULL,
    PRIMARY KEY (outbreak_key, contact_id)
);
"""),
    # Reports now wait for «sí» in the core's pending_actions: the old pending report in the
    # profile would only be shown back to the producer («mis datos») and to the model.
    (2, "no pending report in profiles", {
        "sqlite": "UPDATE profiles SET data = json_remove(data, '$.reporte_pendiente') "
                  "WHERE json_extract(data, '$.reporte_pendiente') IS NOT NULL;",
        "postgresql": "UPDATE profiles SET data = (data::jsonb - 'reporte_pendiente')::text "
                      "WHERE jsonb_exists(data::jsonb, 'reporte_pendiente');"}),
]


@dataclass(frozen=True)
class Plot:
    id: int
    contact_id: int
    name: str
    crop: str
    variety: str
    planting_date: date
    harvested_on: date | None
    area_ha: float | None
    latitude: float | None
    longitude: float | None
    elevation_m: float | None
    place: str
    soil: str
    method: str
    rate_mm_h: float | None
    water_source: str


_COLUMNS = ("id, contact_id, name, crop, variety, planting_date, harvested_on, area_ha, latitude, longitude, "
            "elevation_m, place, soil, method, rate_mm_h, water_source")


def _plot(row) -> Plot:
    values = list(row)
    values[5] = date.fromisoformat(values[5])
    values[6] = date.fromisoformat(values[6]) if values[6] else None
    return Plot(*values)


def plots(connection: Database, contact_id: int) -> list[Plot]:
    return [_plot(r) for r in connection.execute(f"SELECT {_COLUMNS} FROM agro_plots WHERE contact_id = ? "
                                                 "ORDER BY id", (contact_id,))]


def all_plots(connection: Database) -> list[Plot]:
    return [_plot(r) for r in connection.execute(f"SELECT {_COLUMNS} FROM agro_plots WHERE harvested_on IS NULL")]


def listed_plots(connection: Database, limit: int,
                 contact_id: int | None = None) -> list[tuple[str, str | None, Plot]]:
    """The newest plots (one producer's, or everyone's, harvested too) with their producer's phone
    and name (the core's, asked for the plots' producers only)."""
    where, params = ("WHERE contact_id = ?", [contact_id]) if contact_id is not None else ("", [])
    plots = [_plot(row) for row in connection.execute(f"SELECT {_COLUMNS} FROM agro_plots {where} "
                                                      "ORDER BY id DESC LIMIT ?", [*params, limit])]
    producers = core.phones_and_names(connection, {plot.contact_id for plot in plots})
    return [(*producers[plot.contact_id], plot) for plot in plots if plot.contact_id in producers]


def producers_with_plots(connection: Database) -> set[int]:
    """Contact ids with at least one plot, harvested too."""
    return {row[0] for row in connection.execute("SELECT DISTINCT contact_id FROM agro_plots")}


def save_plot(connection: Database, contact_id: int, name: str, profile: dict) -> None:
    """The plot described by the onboarding answers (or a later 'nuevo lote' form)."""
    location = profile.get("ubicacion") or {}
    irrigation = profile.get("riego") or {}
    connection.execute(
        "INSERT INTO agro_plots (contact_id, name, crop, variety, planting_date, area_ha, latitude, longitude, "
        "place, soil, method, rate_mm_h, water_source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(contact_id, name) DO UPDATE SET crop = excluded.crop, variety = excluded.variety, "
        "planting_date = excluded.planting_date, harvested_on = NULL",
        (contact_id, name, profile["cultivo"], profile.get("variedad", ""), profile["fecha_siembra"],
         profile.get("area_ha"), location.get("latitude"), location.get("longitude"), location.get("place", ""),
         profile.get("suelo", "franco"), irrigation.get("method", "secano"), irrigation.get("rate_mm_h"),
         profile.get("fuente_agua", "")))


def set_coordinates(connection: Database, plot_id: int, latitude: float, longitude: float,
                    elevation_m: float | None) -> None:
    connection.execute("UPDATE agro_plots SET latitude = ?, longitude = ?, elevation_m = ? WHERE id = ?",
                       (latitude, longitude, elevation_m, plot_id))


def update_plot(connection: Database, plot_id: int, soil: str | None = None, method: str | None = None,
                rate_mm_h: float | None = None) -> None:
    """A new soil and/or irrigation method (with its rate, None when unknown); None leaves it as is."""
    if soil is not None:
        connection.execute("UPDATE agro_plots SET soil = ? WHERE id = ?", (soil, plot_id))
    if method is not None:
        connection.execute("UPDATE agro_plots SET method = ?, rate_mm_h = ? WHERE id = ?", (method, rate_mm_h, plot_id))


def mark_harvested(connection: Database, plot_id: int, day: date) -> None:
    connection.execute("UPDATE agro_plots SET harvested_on = ? WHERE id = ?", (day.isoformat(), plot_id))


def replant(connection: Database, plot_id: int, crop: str, day: date) -> None:
    connection.execute("UPDATE agro_plots SET crop = ?, planting_date = ?, harvested_on = NULL WHERE id = ?",
                       (crop, day.isoformat(), plot_id))


# What an undo may put back on a plot (run() reads them first, as stored: JSON-ready).
RESTORABLE = ("crop", "planting_date", "harvested_on", "soil", "method", "rate_mm_h")


def plot_state(connection: Database, plot_id: int, columns: tuple[str, ...]) -> dict:
    _restorable(columns)
    row = connection.execute(f"SELECT {', '.join(columns)} FROM agro_plots WHERE id = ?", (plot_id,)).fetchone()
    return dict(zip(columns, row))


def restore_plot(connection: Database, contact_id: int, plot_id: int, state: dict) -> None:
    """Puts back what plot_state() read (an undo): only the producer's own plot."""
    _restorable(tuple(state))
    if state:
        connection.execute(f"UPDATE agro_plots SET {', '.join(f'{column} = ?' for column in state)} "
                           "WHERE id = ? AND contact_id = ?", [*state.values(), plot_id, contact_id])


def delete_plot(connection: Database, contact_id: int, plot_id: int) -> None:
    connection.execute("DELETE FROM agro_plots WHERE id = ? AND contact_id = ?", (plot_id, contact_id))


def _restorable(columns: tuple[str, ...]) -> None:
    if unknown := set(columns) - set(RESTORABLE):
        raise ValueError(f"not a restorable plot column: {sorted(unknown)}")


def already_alerted(connection: Database) -> set[tuple[str, int]]:
    return set(connection.execute("SELECT outbreak_key, contact_id FROM agro_outbreak_alerts"))


def record_alerted(connection: Database, outbreak_key: str, contact_id: int) -> bool:
    cursor = connection.execute("INSERT INTO agro_outbreak_alerts (outbreak_key, contact_id, alerted_at) "
                                "VALUES (?, ?, ?) ON CONFLICT DO NOTHING", (outbreak_key, contact_id, core.now()))
    return cursor.rowcount == 1
