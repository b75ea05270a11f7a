"""What a domain plug-in contributes to the core (which knows nothing about crops or running):
profile fields with their onboarding questions, facts for the model's context, actions the model
may request, form definitions, alert rules and scheduled jobs."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import sqlite_utils

from backend.contacts import Contact


@dataclass(frozen=True)
class ProfileField:
    name: str
    question: str  # asked during onboarding, in the user's language
    parse: Callable[[str], Any]  # raises ValueError with a message for the user


@dataclass(frozen=True)
class ActionContext:
    db: sqlite_utils.Database  # inside the transaction that also stores the reply
    contact: Contact


class ActionRefused(Exception):
    """An action that cannot be done as asked (a 2-minute marathon, a date in the future): the
    user reads this message instead of the model's reply, and nothing of the action is saved."""


@dataclass(frozen=True)
class Action:
    """Something the model may ask for in `acciones`. Only registered actions run, and only with
    arguments that fit `schema`."""

    name: str
    description: str
    schema: dict
    run: Callable[[ActionContext, dict], None]
    # What the user must read once it ran. A small model often phrases it wrongly or not at all;
    # then the orchestrator replies with this instead.
    confirm: Callable[[dict], str] | None = None
    # Whether the user's message supports these arguments. Small models copy earlier turns and
    # invent actions ("Hola" -> save a note); code decides, not the model.
    grounded: Callable[[str, dict], bool] | None = None


@dataclass(frozen=True)
class FactAnswer:
    """The computed answer to a question the plug-in recognizes ("¿a qué ritmo hago el tempo?")."""
    sentence: str  # said plainly when the model's reply does not carry the figure
    figure: str  # the computed value the reply must contain, e.g. "4:15/km"


@dataclass(frozen=True)
class ScheduledJob:
    name: str
    every_seconds: float
    run: Callable[[sqlite_utils.Database], None]


@dataclass
class DomainPlugin:
    name: str  # stored in contacts.domain
    label: str  # how onboarding offers it ("agricultura", "running")
    system_prompt: str
    profile_fields: list[ProfileField] = field(default_factory=list)
    actions: dict[str, Action] = field(default_factory=dict)
    forms: dict[str, dict] = field(default_factory=dict)  # name -> JSON schema of a submission
    jobs: list[ScheduledJob] = field(default_factory=list)
    # Computed facts for the model: numbers the user relies on come from code, not from the model.
    facts: Callable[[sqlite_utils.Database, Contact], dict] = lambda db, contact: {}
    # Actions code recognizes in the message with certainty ("corrí 10 km en 55 min"): run even
    # when a small model forgets to ask for them. name -> arguments, each fitting its schema.
    detect: Callable[[str, Contact], dict[str, dict]] = lambda message, contact: {}
    # The plug-in's own tables: (version, name, SQL), applied in order like the core's migrations.
    migrations: list[tuple[int, str, str]] = field(default_factory=list)
    # Extra HTTP routes (e.g. a file import), behind the backend's bearer token.
    routes: Callable[[Any], Any] | None = None  # Store -> flask.Blueprint
    # The brief's rule for computed figures: when the model's reply to a question the plug-in
    # recognizes lacks the figure (or the model is down), the orchestrator says it plainly itself.
    answer_from_facts: Callable[[str, dict], FactAnswer | None] = lambda message, facts: None
    # Run once when the backend starts, after the migrations (e.g. loading shipped knowledge texts).
    on_start: Callable[[sqlite_utils.Database], None] | None = None
    # What a new user types after their name to see the plug-in at work (`chasqui up` plays it).
    demo: list[str] = field(default_factory=list)
    # Extra pages in the admin panel (admin.auth.PanelView subclasses), each made with the Store.
    admin_views: list[Callable[[Any], Any]] = field(default_factory=list)
