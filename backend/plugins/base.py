"""What a domain plug-in contributes to the core (which knows nothing about crops or running):
profile fields with their onboarding questions, intents (what a message can mean, with examples)
and computed facts that answer its questions, actions on the user's data with their detectors,
form definitions, alert rules and scheduled jobs."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


from backend.contacts import Contact
from backend.store.database import Database


def ALWAYS(profile: dict) -> bool:  # noqa: N802 — read as a constant in field declarations
    return True


def NEVER(profile: dict) -> bool:  # noqa: N802
    return False


@dataclass(frozen=True)
class ProfileField:
    name: str
    question: str  # asked during onboarding, in the user's language
    parse: Callable[[str], Any]  # raises ValueError with a message for the user
    # The value when a free-form message states it among other things ("papa en Huancayo, sembré
    # hace 2 meses"), else None: every message of onboarding is read with every field's `find`.
    find: Callable[[str], Any] | None = None
    # Asked before the first useful answer when this says so for the profile so far; None: always
    # (a plug-in that has not said what its first answer needs asks everything, as the seed did).
    needed: Callable[[dict], bool] | None = None
    # What a field that is not asked starts as, said to the user so they can correct it (soil
    # «franco»): profile so far -> value, or None to leave the field out until it is given.
    default: Callable[[dict], Any] | None = None
    # The options offered as reply buttons or a list (a typed answer always works too).
    options: tuple[str, ...] = ()
    # Asked once, right after the first useful answer, while the field is still a default (the
    # irrigation rate before depths in hours); once given, `then` is answered with it.
    later: str = ""
    then: str = ""


@dataclass(frozen=True)
class ActionContext:
    db: Database  # inside the transaction that also stores the reply
    contact: Contact


class ActionRefused(Exception):
    """An action that cannot be done as asked (a 2-minute marathon, a date in the future): the
    user reads this message instead of the model's reply, and nothing of the action is saved."""


@dataclass(frozen=True)
class Action:
    """Something that changes the user's data. Code decides that it is wanted (the plug-in's
    `detect`, in the user's own words); the model may only point at it, never run it. Only
    registered actions run, and only with arguments that fit `schema`.

    The core runs an action in one of two ways:
    - a report that carries its own figures ("corrí 10 km en 55 min", "regué 2 horas": `asks_first`
      is false for its arguments) runs at once and is read back with `confirm`;
    - anything else is first checked with `prepare` (which may refuse or complete the arguments),
      asked as `ask` ("¿Cambio tu objetivo a…?") and runs only after the user's «sí».
    `run` returns what `undo` needs to take the change back ("deshacer" right after), or None
    when it cannot be undone."""

    name: str
    description: str
    schema: dict
    run: Callable[[ActionContext, dict], dict | None]
    # What the user reads once it ran.
    confirm: Callable[[dict], str] | None = None
    # The question asked before running ("¿Anoto tu riego de 2 horas?"), without "sí o no".
    ask: Callable[[dict], str] | None = None
    # False: runs without asking (an unambiguous report with its own figures).
    asks_first: Callable[[dict], bool] = lambda arguments: True
    # Checked before asking: raises ActionRefused, or returns the arguments as they will run.
    prepare: Callable[[ActionContext, dict], dict] | None = None
    # Takes the change back, given what `run` returned.
    undo: Callable[[ActionContext, dict], None] | None = None


@dataclass(frozen=True)
class ScheduledJob:
    name: str
    every_seconds: float
    run: Callable[[Database], None]


@dataclass
class DomainPlugin:
    name: str  # stored in contacts.domain
    label: str  # how onboarding offers it ("agricultura", "running")
    system_prompt: str  # of the answer call for open questions: short and fixed, so it stays cached
    profile_fields: list[ProfileField] = field(default_factory=list)
    actions: dict[str, Action] = field(default_factory=dict)
    forms: dict[str, dict] = field(default_factory=dict)  # name -> JSON schema of a submission
    jobs: list[ScheduledJob] = field(default_factory=list)
    # Computed facts: what the fact intents answer from (numbers come from code, never the model).
    facts: Callable[[Database, Contact], dict] = lambda db, contact: {}
    # The changes the user's own words ask for ("corrí 10 km en 55 min" -> registrar_carrera with
    # its figures): name -> arguments, each fitting its schema. Given the message as read once
    # (backend.understanding.reading.Reading: `.normalized` is folded, number words as digits, `.text`
    # as written). Only code decides that data changes.
    detect: Callable[[Any, Contact], dict[str, dict]] = lambda reading, contact: {}
    # The plug-in's own tables: (version, name, SQL), applied in order like the core's migrations.
    migrations: list[tuple[int, str, str]] = field(default_factory=list)
    # Extra HTTP routes (e.g. a file import), behind the backend's bearer token.
    routes: Callable[[Any], Any] | None = None  # Store -> flask.Blueprint
    # Run once when the backend starts, after the migrations (e.g. loading shipped knowledge texts).
    on_start: Callable[[Database], None] | None = None
    # What a new user types after their name to see the plug-in at work (`chasqui up` plays it).
    demo: list[str] = field(default_factory=list)
    # Extra pages in the admin panel (admin.auth.PanelView subclasses), each made with the Store.
    admin_views: list[Callable[[Any], Any]] = field(default_factory=list)
    # What a message can mean in this domain (backend.understanding.intents.Intent): the matcher
    # compares messages with their examples; fact intents are answered from `facts` by code.
    intents: list[Any] = field(default_factory=list)
    # The slots a message gives for an intent ({"lote": "lote 2"}): (Reading, intent name) -> dict.
    read_slots: Callable[[Any, str], dict] = lambda reading, intent: {}
    # Names that say *which* thing, not what the user wants ("rancha", "maíz", "rodilla"), turned
    # into one placeholder word each before matching, so an example about one pest covers all of
    # them: normalized text -> normalized text.
    mark_entities: Callable[[str], str] = lambda normalized: normalized
    # What Chasqui can do here, for greetings, help and honest "I can't help with that" replies.
    menu: list[str] = field(default_factory=list)
    # Onboarding. Words that say a first message is about this domain ("riego", "maratón"), as a
    # pattern on the folded text; the question answered when onboarding ends if the user asked
    # none ("¿Cuándo riego?"); whether the user's name is asked (WhatsApp's profile name is used
    # when the bridge passes it).
    signals: Any = None  # re.Pattern | None
    first_question: str = ""
    first_ask: str = ""  # the needed fields asked in one question when none is known yet
    correction_example: str = ""  # how a stated default is corrected («mi suelo es arcilloso»)
    asks_name: bool = True
    # Called after fields were given outside onboarding (a question asked later), so what was
    # built from them follows (the first plot, the plan): (db, contact, {field: value}) -> None.
    on_profile_change: Callable[[Database, Contact, dict], None] | None = None
    # Words a voice note of this domain is likely to hold, in a sentence as people say them: given
    # to the speech engine as its prompt, so «regué», «rancha» or «5K» are heard as written.
    speech_prompt: str = ""
    # How «MIS DATOS» names this plug-in's own tables to the user: {table: "parcelas"}.
    data_labels: dict[str, str] = field(default_factory=dict)
    # How a profile value reads back to the user ("papa", "suelo franco"): (field, value) -> text.
    describe: Callable[[str, Any], str] = lambda name, value: str(value)
