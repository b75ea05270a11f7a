"""The agro actions as the core runs them, called directly on a real SQLite file: `prepare` checks
and completes a report, `ask` carries its figures, `run` saves exactly the form submission
/form/update would save (and marks the harvest, replants, makes the new plot or changes the soil)
and returns JSON undo data; `undo` with that data leaves form_submissions, the agro tables and the
profile as they were. Each step in its own transaction, with the contact read afresh, as between
the producer's messages."""
from __future__ import annotations

import json
from datetime import timedelta

import jsonschema
import pytest

from backend.contacts import find_contact
from backend.plugins.agro import reports
from backend.plugins.agro.actions import ACTIONS, detect
from backend.plugins.agro.facts import producer_plots
from backend.plugins.base import ActionContext, ActionRefused
from backend.store.database import transaction
from backend.understanding.reading import read
from tests.agro.conftest import PHONE, lima_today, onboard

TODAY = lima_today()
YESTERDAY = (TODAY - timedelta(days=1)).isoformat()
FORM_OF = {"reportar_riego": "riego", "reportar_lluvia": "lluvia", "reportar_plaga": "plaga",
           "reportar_cosecha": "cosecha", "reportar_siembra": "siembra"}


@pytest.fixture
def producer(farm):
    """Rosa, onboarded by chat (maíz, loam, drip at 4 mm/h), with her «lote 1» made as the first
    question's facts make it."""
    onboard(farm)
    with transaction(farm.db):
        producer_plots(farm.db, find_contact(farm.db, PHONE))
    return farm


def step(farm, do):
    with transaction(farm.db):
        return do(ActionContext(db=farm.db, contact=find_contact(farm.db, PHONE)))


def prepare(farm, name: str, arguments: dict) -> dict:
    prepared = step(farm, lambda ctx: ACTIONS[name].prepare(ctx, arguments))
    jsonschema.validate(prepared, ACTIONS[name].schema)  # what runs still fits the action's schema
    return prepared


def run(farm, name: str, arguments: dict) -> dict:
    undo = step(farm, lambda ctx: ACTIONS[name].run(ctx, arguments))
    assert json.loads(json.dumps(undo)) == undo  # the core keeps it as JSON until «deshacer»
    return json.loads(json.dumps(undo))


def undo(farm, name: str, undo_data: dict) -> None:
    step(farm, lambda ctx: ACTIONS[name].undo(ctx, undo_data))


def dump(farm) -> dict:
    db = farm.db
    return {"form_submissions": db.execute("SELECT * FROM form_submissions ORDER BY id").fetchall(),
            "agro_plots": db.execute("SELECT * FROM agro_plots ORDER BY id").fetchall(),
            "agro_outbreak_alerts": db.execute("SELECT * FROM agro_outbreak_alerts ORDER BY 1, 2").fetchall(),
            "profile": [(contact, domain, json.loads(data)) for contact, domain, data in
                        db.execute("SELECT contact_id, domain, data FROM profiles ORDER BY contact_id")]}


def submissions(farm) -> list[tuple[str, dict, str]]:
    return [(form, json.loads(data), source) for form, data, source in farm.db.execute(
        "SELECT d.name, s.data, s.source FROM form_submissions s JOIN form_definitions d ON d.id = s.form_id "
        "ORDER BY s.id")]


def plots(farm) -> list[tuple]:
    return farm.db.execute("SELECT name, crop, planting_date, harvested_on, place, soil, method, rate_mm_h "
                           "FROM agro_plots ORDER BY id").fetchall()


def test_the_actions_and_which_ask_first():
    assert set(ACTIONS) == {*FORM_OF, "corregir_lote"}  # no pending report of the plug-in's own any more
    arguments = {"fecha": YESTERDAY, "horas": 2}
    assert [name for name, action in ACTIONS.items() if not action.asks_first(arguments)] == [
        "reportar_riego", "reportar_lluvia"]
    assert all(action.prepare and action.run and action.undo and action.ask and action.confirm
               for action in ACTIONS.values())


REPORTS = [
    ("reportar_riego", {"fecha": YESTERDAY, "horas": 2, "lote": "lote 1"},
     f"¿Anoto tu riego de 2 horas en el lote 1 ({YESTERDAY})?",
     f"Guardé tu riego de 2 horas en el lote 1 ({YESTERDAY})."),
    ("reportar_riego", {"fecha": YESTERDAY, "mm": 12.5},
     f"¿Anoto tu riego de 12,5 mm ({YESTERDAY})?", f"Guardé tu riego de 12,5 mm ({YESTERDAY})."),
    ("reportar_lluvia", {"fecha": YESTERDAY, "mm": 15},
     f"¿Anoto 15 mm de lluvia ({YESTERDAY})?", f"Guardé 15 mm de lluvia ({YESTERDAY})."),
    ("reportar_plaga", {"fecha": YESTERDAY, "plaga": "gusano cogollero", "lote": "lote 1"},
     f"¿Anoto gusano cogollero en el lote 1 ({YESTERDAY})?",
     f"Guardé gusano cogollero en el lote 1 ({YESTERDAY}). Si varios vecinos ven lo mismo, les aviso a todos."),
    ("reportar_cosecha", {"fecha": YESTERDAY},
     f"¿Anoto la cosecha ({YESTERDAY})?", f"Guardé la cosecha ({YESTERDAY})."),
    ("reportar_siembra", {"fecha": YESTERDAY, "cultivo": "frijol", "lote": "Lote 1"},
     f"¿Anoto la siembra de frijol en el Lote 1 ({YESTERDAY})?",
     f"Guardé la siembra de frijol en el Lote 1 ({YESTERDAY})."),
    ("reportar_siembra", {"fecha": YESTERDAY, "cultivo": "maiz", "lote": "lote 2"},
     f"¿Anoto la siembra de maíz en el lote 2 ({YESTERDAY})?",
     f"Guardé la siembra de maíz en el lote 2 ({YESTERDAY}). Es un lote nuevo: le puse el lugar, el suelo y el riego "
     "de tu primer lote. Si son otros, dímelo así: «el lote 2 es de suelo arenoso» o «en el lote 2 riego por "
     "aspersión»."),
]


@pytest.mark.parametrize("name, arguments, question, read_back", REPORTS,
                         ids=["riego-horas", "riego-mm", "lluvia", "plaga", "cosecha", "resiembra", "lote-nuevo"])
def test_a_report_prepared_run_and_undone_leaves_everything_as_it_was(producer, name, arguments, question, read_back):
    before = dump(producer)
    prepared = prepare(producer, name, arguments)
    assert ACTIONS[name].ask(prepared) == question
    assert ACTIONS[name].confirm(prepared) == read_back
    assert dump(producer) == before  # preparing saves nothing

    undo_data = run(producer, name, prepared)
    form = FORM_OF[name]
    [(saved_form, data, source)] = submissions(producer)
    assert (saved_form, source) == (form, "chat")
    assert data == {key: value for key, value in prepared.items() if key != "lote_nuevo"}  # no helper key saved
    jsonschema.validate(data, reports.FORMS[form])  # what /form/update would have accepted and saved

    undo(producer, name, undo_data)
    assert dump(producer) == before


def test_a_report_with_its_own_figures_runs_without_prepare(producer):
    """asks_first is false for an irrigation: the core runs the detected arguments at once."""
    before = dump(producer)
    detected = detect(read("Ayer regué 3 horas el lote 1"), find_contact(producer.db, PHONE))
    assert detected == {"reportar_riego": {"fecha": YESTERDAY, "lote": "lote 1", "horas": 3.0}}
    undo_data = run(producer, "reportar_riego", detected["reportar_riego"])
    assert submissions(producer) == [("riego", detected["reportar_riego"], "chat")]
    undo(producer, "reportar_riego", undo_data)
    assert dump(producer) == before


def test_a_harvest_marks_the_plot_and_its_undo_clears_the_mark(producer):
    before = plots(producer)
    undo_data = run(producer, "reportar_cosecha", prepare(producer, "reportar_cosecha", {"fecha": YESTERDAY}))
    assert plots(producer)[0][3] == YESTERDAY
    undo(producer, "reportar_cosecha", undo_data)
    assert plots(producer) == before and before[0][3] is None


def test_sowing_again_replants_and_its_undo_puts_back_the_crop_date_and_harvest(producer):
    run(producer, "reportar_cosecha", {"fecha": YESTERDAY})  # kept: the plot is harvested
    before = dump(producer)
    (name, crop, planted, harvested, *_), = plots(producer)
    assert (crop, harvested) == ("maiz", YESTERDAY)
    today = TODAY.isoformat()
    prepared = prepare(producer, "reportar_siembra", {"fecha": today, "cultivo": "frijol", "lote": "lote 1"})
    assert "lote_nuevo" not in prepared
    undo_data = run(producer, "reportar_siembra", prepared)
    assert plots(producer)[0][:4] == ("lote 1", "frijol", today, None)
    undo(producer, "reportar_siembra", undo_data)
    assert dump(producer) == before
    assert plots(producer)[0][:4] == (name, "maiz", planted, YESTERDAY)


def test_a_sowing_in_a_new_plot_makes_it_like_the_first_and_its_undo_removes_it(producer):
    prepared = prepare(producer, "reportar_siembra", {"fecha": YESTERDAY, "cultivo": "papa", "lote": "Lote 2"})
    assert prepared == {"fecha": YESTERDAY, "cultivo": "papa", "lote": "Lote 2", "lote_nuevo": True}
    undo_data = run(producer, "reportar_siembra", prepared)
    first, second = plots(producer)
    assert second[:4] == ("lote 2", "papa", YESTERDAY, None) and second[4:] == first[4:]
    assert submissions(producer) == [("siembra", {"fecha": YESTERDAY, "cultivo": "papa", "lote": "Lote 2"}, "chat")]
    undo(producer, "reportar_siembra", undo_data)
    assert plots(producer) == [first] and submissions(producer) == []


def test_a_new_plot_made_meanwhile_is_not_overwritten_by_a_stale_question(producer):
    asked = prepare(producer, "reportar_siembra", {"fecha": YESTERDAY, "cultivo": "papa", "lote": "lote 2"})
    run(producer, "reportar_siembra", {"fecha": YESTERDAY, "cultivo": "quinua", "lote": "lote 2"})  # told again
    with pytest.raises(ActionRefused, match="^No anoté la siembra: Ya tienes un lote llamado «lote 2».$"):
        run(producer, "reportar_siembra", asked)
    assert [row[:2] for row in plots(producer)] == [("lote 1", "maiz"), ("lote 2", "quinua")]


@pytest.mark.parametrize("name, arguments, message", [
    ("reportar_riego", {"fecha": (TODAY + timedelta(days=1)).isoformat(), "horas": 2},
     "No anoté el reporte: la fecha no puede estar en el futuro."),
    ("reportar_lluvia", {"fecha": (TODAY + timedelta(days=3)).isoformat(), "mm": 5},
     "No anoté el reporte: la fecha no puede estar en el futuro."),
    ("reportar_riego", {"fecha": YESTERDAY, "horas": 2, "lote": "lote 7"},
     "No anoté el reporte: no tienes un «lote 7». Tus lotes: lote 1. Para uno nuevo, cuéntame qué sembraste: "
     "«sembré papa en el lote 7»."),
    ("reportar_plaga", {"fecha": YESTERDAY, "plaga": "rancha", "lote": "lote 3"},
     "No anoté el reporte: no tienes un «lote 3». Tus lotes: lote 1. Para uno nuevo, cuéntame qué sembraste: "
     "«sembré papa en el lote 3»."),
    ("reportar_cosecha", {"fecha": YESTERDAY, "lote": "lote 2"},
     "No anoté el reporte: no tienes un «lote 2». Tus lotes: lote 1. Para uno nuevo, cuéntame qué sembraste: "
     "«sembré papa en el lote 2»."),
    ("reportar_siembra", {"fecha": YESTERDAY, "cultivo": "mango del espacio", "lote": "lote 2"},
     "No anoté la siembra: No conozco el cultivo «mango del espacio»"),
    ("reportar_siembra", {"fecha": (TODAY + timedelta(days=1)).isoformat(), "cultivo": "papa"},
     "No anoté el reporte: la fecha no puede estar en el futuro."),
    ("corregir_lote", {"lote": "lote 9", "suelo": "arcilloso"},
     "No cambié nada: no tienes un «lote 9». Tus lotes: lote 1."),
], ids=["riego-futuro", "lluvia-futura", "riego-lote-desconocido", "plaga-lote-desconocido", "cosecha-lote-desconocido",
        "siembra-cultivo-desconocido", "siembra-futura", "corregir-lote-desconocido"])
def test_the_impossible_is_refused_with_what_the_producer_reads(producer, name, arguments, message):
    before = dump(producer)
    for do in (ACTIONS[name].prepare, ACTIONS[name].run):  # run checks too: riego and lluvia skip prepare
        with pytest.raises(ActionRefused) as refused:
            step(producer, lambda ctx: do(ctx, arguments))
        assert str(refused.value).startswith(message)
    assert dump(producer) == before


@pytest.mark.parametrize("arguments, question, read_back, plot", [
    ({"lote": "lote 1", "suelo": "arenoso"}, "¿Cambio el lote 1 a suelo arenoso?", "Cambié el lote 1: suelo arenoso.",
     ("arenoso", "goteo", 4.0)),
    ({"riego": {"method": "aspersion", "rate_mm_h": 8}}, "¿Cambio tu primer lote a riego por aspersión (8 mm/h)?",
     "Cambié tu primer lote: riego por aspersión (8 mm/h).", ("franco", "aspersion", 8.0)),
    ({"suelo": "arcilloso", "riego": {"method": "secano", "rate_mm_h": None}},
     "¿Cambio tu primer lote a suelo arcilloso y riego por secano (lluvia)?",
     "Cambié tu primer lote: suelo arcilloso y riego por secano (lluvia).", ("arcilloso", "secano", None)),
], ids=["suelo", "riego", "ambos"])
def test_a_change_to_the_first_plot_and_its_onboarding_answers_is_undone(producer, arguments, question, read_back,
                                                                         plot):
    before = dump(producer)
    assert plots(producer)[0][5:] == ("franco", "goteo", 4.0)
    prepared = prepare(producer, "corregir_lote", arguments)
    assert ACTIONS["corregir_lote"].asks_first(prepared)
    assert ACTIONS["corregir_lote"].ask(prepared) == question
    assert ACTIONS["corregir_lote"].confirm(prepared) == read_back
    undo_data = run(producer, "corregir_lote", prepared)
    assert plots(producer)[0][5:] == plot
    profile = find_contact(producer.db, PHONE).profile
    assert all(profile[key] == arguments[key] for key in ("suelo", "riego") if key in arguments)
    undo(producer, "corregir_lote", undo_data)
    assert dump(producer) == before


def test_a_change_to_a_later_plot_touches_only_that_plot(producer):
    run(producer, "reportar_siembra", prepare(producer, "reportar_siembra",
                                              {"fecha": YESTERDAY, "cultivo": "papa", "lote": "lote 2"}))
    before = dump(producer)
    change = detect(read("En el lote 2 riego por aspersión 8 mm/h"), find_contact(producer.db, PHONE))["corregir_lote"]
    prepared = prepare(producer, "corregir_lote", change)
    assert ACTIONS["corregir_lote"].ask(prepared) == "¿Cambio el lote 2 a riego por aspersión (8 mm/h)?"
    undo_data = run(producer, "corregir_lote", prepared)
    first, second = plots(producer)
    assert second[5:] == ("franco", "aspersion", 8.0) and first[5:] == ("franco", "goteo", 4.0)
    assert dump(producer)["profile"] == before["profile"]  # the onboarding answers describe lote 1
    undo(producer, "corregir_lote", undo_data)
    assert dump(producer) == before


def test_yes_and_no_are_no_longer_the_plug_ins_to_recognize(producer):
    contact = find_contact(producer.db, PHONE)
    assert detect(read("sí"), contact) == {} and detect(read("no, me equivoqué"), contact) == {}
    assert "reporte_pendiente" not in contact.profile


def test_the_old_pending_report_in_profiles_is_removed_by_the_plug_ins_migration(producer):
    from backend.plugins.agro.store import MIGRATIONS
    from backend.store.migrations import migrate
    db = producer.db
    for contact_id, data in db.execute("SELECT contact_id, data FROM profiles").fetchall():  # JSON text on both engines
        db.execute("UPDATE profiles SET data = ? WHERE contact_id = ?",
                   [json.dumps({**json.loads(data), "reporte_pendiente": {"accion": "riego"}}), contact_id])
    db.execute("DELETE FROM plugin_migrations WHERE plugin = 'agro' AND version = 2")  # as before this change
    assert migrate(db, MIGRATIONS, plugin="agro") == [2]
    profile = json.loads(db.execute("SELECT data FROM profiles").fetchone()[0])
    assert "reporte_pendiente" not in profile and profile["cultivo"]
