"""`core`, what the plug-ins get from the core (backend/plugin_api.py), on a real SQLite file:
each call does what its plug-in callers rely on."""
import pytest

from backend.conversation import search_knowledge
from backend.phones import normalize_phone
from backend.plugin_api import core

PHONES = ["51955510001", "51955510002", "51955510003"]


@pytest.fixture
def db(backend):
    backend.onboard(PHONES[0])
    backend.onboard(PHONES[1])
    backend.say(PHONES[1], "BAJA")  # opted out of alerts
    backend.say(PHONES[2], "hola")  # still onboarding
    return backend.db


def test_contacts_of_a_domain_settled_and_reachable(db):
    everyone = core.contacts(db, "example", settled=False)
    assert [c.phone for c in everyone] == [normalize_phone(p) for p in PHONES]
    settled = core.contacts(db, "example")
    assert {c.phone for c in settled} == {everyone[0].phone, everyone[1].phone}
    reachable = core.contacts(db, "example", reachable=True)
    assert [c.phone for c in reachable] == [everyone[0].phone]
    assert core.contacts(db, "agro", settled=False) == []
    assert reachable[0].profile == {"ciudad": "Cajamarca"} and reachable[0].name == "Rosa"
    names = core.phones_and_names(db, [c.id for c in settled] + [settled[0].id])
    assert names == {c.id: (c.phone, "Rosa") for c in settled} and core.phones_and_names(db, []) == {}
    assert core.joined_at(db, settled[0]) <= core.joined_at(db, settled[1]) <= core.now()


def test_form_submissions_saved_listed_counted_and_taken_back(db):
    rosa = core.contacts(db, "example")[0]
    with core.transaction(db) as connection:
        first = core.save_submission(connection, "nota", rosa.id, {"texto": "regar"}, "chat")
        core.save_submission(db, "nota", rosa.id, {"texto": "sembrar"}, "api")
    assert core.count_submissions(db, "nota", rosa.id) == 2
    listed = core.submissions(db, "nota", rosa.id)
    assert [row[0] for row in listed][0] == first and listed[0][1] == rosa.id and '"regar"' in listed[0][2]
    assert len(core.submissions(db, "nota")) == 2
    core.delete_submission(db, rosa.id, first)
    assert core.count_submissions(db, "nota", rosa.id) == 1


def test_knowledge_of_a_source_is_replaced_and_found(db):
    with core.transaction(db) as connection:
        core.replace_knowledge(connection, "example", "guia", {"Riego": "Riega al amanecer.", "Heladas": "Cubre."})
    assert [k["titulo"] for k in search_knowledge(db, "example", "amanecer riego")] == ["Riego"]
    with core.transaction(db) as connection:
        core.replace_knowledge(connection, "example", "guia", {"Riego": "Riega por goteo al atardecer."})
    assert search_knowledge(db, "example", "amanecer") == []  # the changed text's index followed it
    assert [k["titulo"] for k in search_knowledge(db, "example", "goteo")] == ["Riego"]
    assert search_knowledge(db, "example", "cubre heladas") == []  # the missing one is gone


def test_an_alert_in_the_plug_ins_transaction_and_one_contacts_failure_contained(db):
    rosa, luis = core.contacts(db, "example")
    with core.transaction(db) as connection:
        for contact in (rosa, luis):
            with core.contained(db, "example.job", contact.id, "alerting", connection):
                core.add_alert(connection, contact.id, f"Hola {contact.phone}", "media")
                if contact is luis:
                    raise RuntimeError("bad data")
    alerts = [r[0] for r in db.execute("SELECT contact_id FROM alerts")]
    assert alerts == [rosa.id]  # luis's alert rolled back with his share; rosa's committed
    assert db.execute("SELECT COUNT(*) FROM failures WHERE source = 'example.job'").fetchone()[0] == 1
    with pytest.raises(core.InvalidAlert):
        with core.transaction(db) as connection:
            core.add_alert(connection, rosa.id, "", "media")
    assert core.database_folder(db).is_dir()
