"""The smallest complete domain plug-in, notes and reminders, written to be read: every hook a
plug-in can declare (backend/plugins/base.py) appears once below, with a line saying what it is
for. It reaches the core only through `core` (backend/plugin_api.py) and writes SQL only against
its own table, in SQL that SQLite and PostgreSQL both read. agro and running follow the same shape
at scale; tests/backend/test_example_plugin.py exercises each hook on both engines."""
from __future__ import annotations

import logging
import re
from datetime import date, datetime, timedelta, timezone

from flask import Blueprint, jsonify, request
from flask_admin import expose

from admin.auth import PanelView
from backend.plugin_api import Database, core
from backend.plugins.base import ALWAYS, Action, ActionContext, ActionRefused, DomainPlugin, ProfileField, ScheduledJob
from backend.spanish import day_name, find_calendar_date
from backend.text import fold
from backend.understanding.intents import ACTION, FACT, OPEN, OPEN_QUESTION, Intent

log = logging.getLogger(__name__)

# --- its own table ---------------------------------------------------------------------------------
# (version, name, SQL), applied once each in order, like the core's. Written in SQLite's SQL;
# backend/store/dialects.py renders the types for PostgreSQL. A released migration is never edited.
MIGRATIONS = [
    (1, "reminders", """
CREATE TABLE example_reminders (
    id INTEGER PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,  -- erased with the contact
    due_on TEXT NOT NULL,                    -- ISO date, the user's local day
    text TEXT NOT NULL,
    created_at REAL NOT NULL,
    sent_at REAL                             -- NULL until the scheduled job sends it
);
CREATE INDEX example_reminders_by_contact ON example_reminders(contact_id, due_on);  -- facts, erasure
CREATE INDEX example_reminders_waiting ON example_reminders(due_on) WHERE sent_at IS NULL;  -- the job
"""),
]


def waiting_reminders(db: Database, contact_id: int, limit: int = 5) -> list[tuple[str, str]]:
    """(ISO day, text) of the contact's reminders not sent yet, soonest first."""
    return db.execute("SELECT due_on, text FROM example_reminders WHERE contact_id = ? AND sent_at IS NULL "
                      "ORDER BY due_on, id LIMIT ?", (contact_id, limit)).fetchall()


# --- what the user says ----------------------------------------------------------------------------
NOTE_FORM = {
    "type": "object",
    "properties": {"texto": {"type": "string", "minLength": 1, "maxLength": 200}},
    "required": ["texto"],
    "additionalProperties": False,
}
REMINDER_SCHEMA = {
    "type": "object",
    "properties": {"texto": {"type": "string", "minLength": 1, "maxLength": 200},
                   "dia": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "format": "date"}},
    "required": ["texto", "dia"],
    "additionalProperties": False,
}
# "anota: comprar semillas", "guarda una nota: …": the colon says where the note starts.
NOTE = re.compile(r"(?i)^\s*(?:guarda(?:me)?|anota(?:me)?|apunta(?:me)?|toma)\s*(?:una|la|esta)?\s*(?:nota)?\s*:\s*"
                  r"(?P<texto>\S.{0,199})$")
# "recuérdame mañana: llamar a Juan", "recuérdame el 24/12: comprar el pavo".
REMINDER = re.compile(r"(?i)^\s*recu[eé]rda(?:me)?\s+(?P<cuando>[^:]{2,40}?)\s*:\s*(?P<texto>\S.{0,199})$")
CITY_SAID = re.compile(r"\b(?:vivo en|soy de)\s+(?P<ciudad>[A-ZÁÉÍÓÚÑ]\w+(?:\s+[A-ZÁÉÍÓÚÑ]\w+)?)")  # «soy de San Martín»
WEEKDAY = re.compile(r"\b(lunes|martes|miercoles|jueves|viernes|sabado|domingo)\b")


def parse_city(answer: str) -> str:
    city = answer.strip()
    if not 2 <= len(city) <= 60:
        raise ValueError("Escribe el nombre de tu ciudad, por favor.")
    return city


def find_city(message: str) -> str | None:
    """«Hola, soy de Cusco» states the city among other things; a bare «Cusco» is read by parse_city."""
    found = CITY_SAID.search(message)
    return found["ciudad"] if found else None


def reminder_day(when: str, today: date) -> date | None:
    """«hoy», «mañana», «pasado mañana», «en 3 días», «el 24/12» (folded, number words as digits)."""
    when = re.sub(r"^(?:para\s+)?(?:el\s+)?", "", when.strip())
    relative = {"hoy": 0, "manana": 1, "pasado manana": 2}
    if when in relative:
        return today + timedelta(days=relative[when])
    if found := re.fullmatch(r"en (\d{1,3}) dias?", when):
        return today + timedelta(days=int(found[1]))
    return find_calendar_date(when, today, ahead=True)


def detect(reading, contact) -> dict:
    """The changes the user's own words ask for: «anota: …» and «recuérdame mañana: …»."""
    found = {}
    if note := NOTE.match(reading.text):
        found["guardar_nota"] = {"texto": note["texto"].strip()}  # as written
    reminder, when = REMINDER.match(reading.text), REMINDER.match(reading.normalized)
    if reminder and when and (day := reminder_day(when["cuando"], contact.local_today())) is not None:
        found["recordar"] = {"texto": reminder["texto"].strip(), "dia": day.isoformat()}
    return found


# --- the actions -----------------------------------------------------------------------------------
def save_note(ctx: ActionContext, arguments: dict) -> dict:
    return {"id": core.save_submission(ctx.db, "nota", ctx.contact.id, arguments, "chat")}


def delete_note(ctx: ActionContext, undo: dict) -> None:
    core.delete_submission(ctx.db, ctx.contact.id, undo["id"])


def check_reminder(ctx: ActionContext, arguments: dict) -> dict:
    """A day already gone (the model may propose any) or over a year away is refused before asking."""
    day, today = date.fromisoformat(arguments["dia"]), ctx.contact.local_today()
    if day < today:
        raise ActionRefused("Ese día ya pasó. Dime otro, por ejemplo «recuérdame mañana: llamar a Juan».")
    if day > today + timedelta(days=366):
        raise ActionRefused("Puedo recordarte algo hasta dentro de un año.")
    return {"texto": arguments["texto"].strip(), "dia": day.isoformat()}


def save_reminder(ctx: ActionContext, arguments: dict) -> dict:
    arguments = check_reminder(ctx, arguments)  # again: a «sí» after midnight may find the day gone
    new_id = ctx.db.insert("INSERT INTO example_reminders (contact_id, due_on, text, created_at) VALUES (?, ?, ?, ?)",
                           (ctx.contact.id, arguments["dia"], arguments["texto"], core.now()))
    return {"id": new_id}


def delete_reminder(ctx: ActionContext, undo: dict) -> None:
    ctx.db.execute("DELETE FROM example_reminders WHERE id = ? AND contact_id = ?", (undo["id"], ctx.contact.id))


def on_day(arguments: dict) -> str:
    return day_name(date.fromisoformat(arguments["dia"]))


ACTIONS = {
    # A report that carries its own figures: runs at once, read back with `confirm`, undone with «deshacer».
    "guardar_nota": Action("guardar_nota", "guarda una nota del usuario", NOTE_FORM, save_note,
                           confirm=lambda arguments: f"Guardé tu nota: {arguments['texto']}",
                           asks_first=lambda arguments: False, undo=delete_note),
    # Checked (`prepare`), asked (`ask`, «sí o no»), run only after the user's «sí», and undoable.
    "recordar": Action("recordar", "anota un recordatorio para un día", REMINDER_SCHEMA, save_reminder,
                       confirm=lambda arguments: f"Te recordaré «{arguments['texto']}» el {on_day(arguments)}.",
                       ask=lambda arguments: f"¿Te recuerdo «{arguments['texto']}» el {on_day(arguments)}?",
                       prepare=check_reminder, undo=delete_reminder),
}


# --- the answers code gives ------------------------------------------------------------------------
def facts(db: Database, contact) -> dict:
    local = contact.local_now()
    return {"hora_local": local.strftime("%H:%M"), "notas_guardadas": core.count_submissions(db, "nota", contact.id),
            "recordatorios": [f"{day_name(date.fromisoformat(day))}: {text}" for day, text in
                              waiting_reminders(db, contact.id)]}


def count_notes(f: dict, reading) -> str:
    return f"Tienes {f['notas_guardadas']} nota{'' if f['notas_guardadas'] == 1 else 's'} guardada" + \
        ("" if f["notas_guardadas"] == 1 else "s") + "."


def list_reminders(f: dict, reading) -> str:
    """All of them, or one weekday's (the slot read_slots found: «¿qué me recuerdas el jueves?»)."""
    day = reading.slots.get("dia")
    shown = [r for r in f["recordatorios"] if day is None or fold(r).startswith(day)]
    if not shown:
        return "No tengo recordatorios pendientes" + (f" para el {day}." if day else ".")
    return "Te recordaré:\n" + "\n".join(f"• {r}" for r in shown)


def read_slots(reading, intent: str) -> dict:
    """«¿qué me recuerdas el jueves?» -> {"dia": "jueves"}, for that intent's answer."""
    if intent == "mis_recordatorios" and (day := WEEKDAY.search(reading.normalized)):
        return {"dia": day[1]}
    return {}


def mark_entities(normalized: str) -> str:
    """«el jueves», «el lunes» -> «el zdia»: one example covers every weekday."""
    return WEEKDAY.sub("zdia", normalized)


INTENTS = [
    Intent("contar_notas", FACT, "cuántas notas tiene guardadas",
           ("cuantas notas tengo", "cuantas notas guarde", "numero de notas", "cuantas notas hay",
            "tengo notas guardadas", "cuantas notas llevo"), answer=count_notes),
    Intent("hora", FACT, "qué hora es", ("que hora es", "me dices la hora", "hora", "que hora tienes"),
           answer=lambda f, reading: f"Son las {f['hora_local']}."),
    Intent("mis_recordatorios", FACT, "qué recordatorios tiene pendientes",
           ("recordatorios tengo", "mis recordatorios", "me vas a recordar", "me recuerdas el zdia",
            "recordatorios pendientes"), answer=list_reminders),
    Intent("guardar_nota", ACTION, "quiere guardar una nota",
           ("anota esto", "guarda una nota", "apunta una nota", "toma nota", "guardame una nota"),
           missing="¿Qué nota guardo? Escríbela así: «anota: comprar semillas»."),
    Intent("recordar", ACTION, "quiere que le recuerden algo un día",
           ("recuerdame", "ponme un recordatorio", "quiero un recordatorio", "recuerdame el zdia"),
           missing="¿Qué te recuerdo y cuándo? Escríbelo así: «recuérdame mañana: llamar a Juan»."),
    Intent(OPEN_QUESTION, OPEN, "otra pregunta", ("como estas", "que opinas", "cuentame algo", "una pregunta")),
]


# --- what runs on its own --------------------------------------------------------------------------
REMINDERS_JOB = "example.recordatorios"  # failures.source of a contact's failed share


def send_reminders(db: Database) -> int:
    """Each reminder whose day has come (the user's own day) is sent once, as an alert; how many."""
    # No time zone is more than 14 h ahead of UTC: a reminder due later than this is due nowhere yet.
    latest = (datetime.now(timezone.utc) + timedelta(hours=14)).date().isoformat()
    waiting = {row[0] for row in db.execute(
        "SELECT DISTINCT contact_id FROM example_reminders WHERE sent_at IS NULL AND due_on <= ?", (latest,))}
    sent = 0
    if not waiting:
        return sent
    with core.transaction(db) as connection:
        for contact in core.contacts(connection, "example", reachable=True):  # not those who opted out
            if contact.id not in waiting:
                continue
            with core.contained(db, REMINDERS_JOB, contact.id, "sending reminders", connection):
                due = connection.execute("SELECT id, text FROM example_reminders WHERE contact_id = ? AND "
                                         "sent_at IS NULL AND due_on <= ? ORDER BY due_on, id",
                                         (contact.id, contact.local_today().isoformat())).fetchall()
                for reminder_id, text in due:
                    core.add_alert(connection, contact.id, f"⏰ Recordatorio: {text}", "media")
                    connection.execute("UPDATE example_reminders SET sent_at = ? WHERE id = ?",
                                       (core.now(), reminder_id))
                sent += len(due)
    return sent


# Texts an open question may quote (the answer call's «Guía»), kept in the core's knowledge table.
KNOWLEDGE_SOURCE = "backend/plugins/example.py"
KNOWLEDGE = {"Recordatorios": "## En breve\nEscribe «recuérdame mañana: llamar a Juan», «recuérdame en 3 días: "
                              "pagar la luz» o «recuérdame el 24/12: comprar el pavo». Te pido un «sí» antes "
                              "de anotarlo, y ese día te llega el aviso; «deshacer» lo quita."}


def on_start(db: Database) -> None:
    """At every start, after the migrations: the stored texts of this source follow KNOWLEDGE."""
    with core.transaction(db) as connection:
        core.replace_knowledge(connection, "example", KNOWLEDGE_SOURCE, KNOWLEDGE)


def on_profile_change(db: Database, contact, changed: dict) -> None:
    """Fields given after onboarding: nothing here is built from the city, so it is only logged."""
    log.info("profile changed", extra={"contact": contact.id, "fields": sorted(changed)})


# --- HTTP and the admin panel ----------------------------------------------------------------------
def create_blueprint(store) -> Blueprint:
    """`GET /example/reminders?phone=+51…`: the reminders still to send, behind the backend's token."""
    # template_folder: where the admin page (RemindersView) finds its template.
    example = Blueprint("example", __name__, template_folder="example_templates")

    @example.get("/example/reminders")
    def reminders():
        contact = core.domain_contact(store.db, request.args.get("phone"), "example", "contact")
        return jsonify({"recordatorios": [{"dia": day, "texto": text}
                                          for day, text in waiting_reminders(store.db, contact.id, 100)]})

    return example


class RemindersView(PanelView):
    """/admin/example/reminders/: the newest reminders, sent or waiting (in Spanish only: the panel's
    catalog holds the strings of packaged plug-ins' pages, backend/plugins/*/templates)."""

    @expose("/")
    def index(self):
        db = self.store.db
        rows = db.execute("SELECT contact_id, due_on, text, sent_at FROM example_reminders "
                          "ORDER BY id DESC LIMIT 50").fetchall()
        people = core.phones_and_names(db, {row[0] for row in rows})
        return self.render("example/reminders.html",
                           rows=[(*people.get(contact_id, ("", None)), day, text, sent_at is not None)
                                 for contact_id, day, text, sent_at in rows])


# --- the plug-in ------------------------------------------------------------------------------------
PLUGIN = DomainPlugin(
    name="example",  # stored in contacts.domain
    label="notas",  # how onboarding offers it when several plug-ins are on
    # The answer call's system prompt, for open questions only: short and fixed, so it stays cached.
    system_prompt=(
        "Eres Chasqui, un asistente por WhatsApp que guarda notas. Hablas español sencillo y amable, en una o "
        "dos frases, solo a la «Pregunta»; usa solo las cifras de los datos.\n"
        'Responde con JSON: {"respuesta_chat": "..."}'
    ),
    # Asked in onboarding (`needed`: before the first answer), also read from any message (`find`).
    # agro and running show the rest: `default` (stated, corrected any time), `options` (reply
    # buttons), `later` and `then` (asked once after the first answer).
    profile_fields=[ProfileField("ciudad", "¿En qué ciudad vives?", parse_city, find=find_city, needed=ALWAYS)],
    describe=lambda name, value: f"vives en {value}" if name == "ciudad" else str(value),  # «Anoté: vives en Cusco.»
    asks_name=True,  # the name is asked unless WhatsApp's profile name came with the first message
    first_question="",  # none: onboarding ends with «¡Listo!» (agro's answers «¿Cuándo riego?» at once)
    first_ask="",  # one question for all needed fields at once: a single field needs none
    correction_example="",  # how a stated default is corrected: this plug-in states none
    signals=re.compile(r"\b(notas?|anota(me)?|apunta(me)?|recuerdame|recordatorios?)\b"),  # picks the domain
    on_profile_change=on_profile_change,  # after fields given outside onboarding (a `later` answer; none here)
    data_labels={"example_reminders": "recordatorios"},  # how «MIS DATOS» names its table
    speech_prompt="Notas y recordatorios: anota comprar semillas; recuérdame mañana llamar a Juan.",  # voice notes
    intents=INTENTS,  # what a message can mean here, with examples the matcher compares it with
    read_slots=read_slots,  # the figures a message gives for its intent
    mark_entities=mark_entities,  # names of *which* thing, one placeholder each before matching
    facts=facts,  # what the fact intents (and the answer call) read: numbers come from code
    detect=detect,  # only code decides that data changes
    actions=ACTIONS,  # the changes, run in the reply's transaction
    forms={"nota": NOTE_FORM},  # JSON schemas of submissions (POST /form/update, the admin's forms page)
    migrations=MIGRATIONS,  # its own tables
    jobs=[ScheduledJob("recordatorios", 300, send_reminders)],  # run by every backend, once per period
    on_start=on_start,  # once at start, after the migrations
    routes=create_blueprint,  # extra HTTP routes
    admin_views=[lambda store: RemindersView(store, name="Recordatorios", endpoint="admin_example_reminders",
                                             url="example/reminders")],  # pages of the admin panel
    menu=["guardar una nota («anota: comprar semillas»)", "cuántas notas tienes",
          "recordatorios («recuérdame mañana: llamar a Juan»)"],  # greetings, help, honest «no sé»
    demo=["Cajamarca", "Guarda una nota: regar el maíz el jueves"],  # what `chasqui up` plays after a name
)
