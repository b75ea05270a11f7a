"""Onboarding: a new phone number gets to its first useful answer in as few messages as possible.
No model is involved, so it works even when the model is down.

Every message is read for everything it states (each profile field's `find`): "Hola, tengo papa
en Huancayo, ¿cuándo riego?" picks the domain, fills the crop and the place, and keeps the
question. Only the fields the first answer needs are asked (a plug-in's `needed`), one at a time,
with examples when an answer is vague; "no sé" is always accepted. The rest start from a stated
default the user can correct at any time. When nothing the first answer needs is missing,
onboarding ends with `Step.question`: the user's own question, or the plug-in's `first_question`,
which the orchestrator answers in the same reply.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from backend.contacts import LATER_PREFIX, Contact, save_profile, update_contact
from backend.plugins.base import DomainPlugin, ProfileField
from backend.store.database import Database
from backend.text import fold

STEP_DOMAIN = "domain"
STEP_NAME = "name"
FIELD_PREFIX = "field:"
UNKNOWN = "unknown"  # a source: the user said "no sé"; not asked again during onboarding
DONT_KNOW = re.compile(r"^\W*(no se|nose|no lo se|no sabo|ni idea|no recuerdo|no me acuerdo|no estoy segur[oa])\b")
# A question mark, or a question word opening the message or one of its parts («buenas, soy
# corredor, cuánto tardaría en una media…»); «¿qué tal?» is a greeting.
QUESTION = re.compile(r"\?|(?:^|[,.;:!¡])\W*(?:cuando|cuanto|cuanta|como|que(?!\s+tal\b)|cual|donde|debo|necesito|"
                      r"puedo|tengo que|hay que)\b")


@dataclass
class Step:
    """What onboarding says this turn; `question` is set on the turn it ends."""
    text: str
    options: tuple[str, ...] = ()
    question: str | None = None


def first_step(plugins: dict[str, DomainPlugin]) -> str:
    return STEP_NAME if len(plugins) == 1 else STEP_DOMAIN


def domain_question(plugins: dict[str, DomainPlugin], described: bool = False) -> str:
    """The choice of domain; `described` adds what each one does (after «no sé» or a miss)."""
    options = "\n".join(f"{i}. {p.label}" + (f" ({', '.join(p.menu[:2])})" if described and p.menu else "")
                        for i, p in enumerate(plugins.values(), start=1))
    return f"¿En qué te puedo ayudar? Responde con el número o la palabra:\n{options}"


def domain_options(plugins: dict[str, DomainPlugin]) -> tuple[str, ...]:
    return tuple(p.label for p in plugins.values())


def start(db: Database, contact: Contact, message: str, plugins: dict[str, DomainPlugin],
          name: str | None = None) -> Step:
    """The first message of a new phone number: already read for the domain and what it says."""
    hello = "¡Hola! Soy Chasqui, tu asistente por WhatsApp."
    if name and not contact.name:
        update_contact(db, contact, name=clean_name(name))
    plugin = next(iter(plugins.values())) if len(plugins) == 1 else \
        _pick_domain(message, plugins) or detect_domain(message, plugins)
    if plugin is None:
        _keep_question(db, contact, message)
        return Step(f"{hello} {domain_question(plugins)}", domain_options(plugins))
    update_contact(db, contact, domain=plugin.name)
    _absorb(db, contact, plugin, message)
    _keep_question(db, contact, message)
    return _next(db, contact, plugin, lead=f"{hello} {_understood(plugin, contact)}")


def advance(db: Database, contact: Contact, message: str, plugins: dict[str, DomainPlugin]) -> Step:
    """Take the user's answer to the current step; the next question, or the end."""
    step = contact.onboarding_step
    if step == STEP_DOMAIN:
        plugin = _pick_domain(message, plugins) or detect_domain(message, plugins)
        if plugin is None:
            _keep_question(db, contact, message)
            lead = "Te cuento lo que hago." if DONT_KNOW.match(fold(message)) else "No te entendí."
            return Step(f"{lead} {domain_question(plugins, described=True)}", domain_options(plugins))
        update_contact(db, contact, domain=plugin.name)
        _absorb(db, contact, plugin, message)
        _keep_question(db, contact, message)
        return _next(db, contact, plugin, lead="¡Perfecto! ")
    plugin = plugins.get(contact.domain or "")
    if plugin is None:  # its plug-in was switched off: start over
        update_contact(db, contact, domain=None, onboarding_step=first_step(plugins))
        return start(db, contact, message, plugins)
    if step == STEP_NAME:
        name = clean_name(message)
        if not re.search(r"[^\W\d_]", name):
            return Step("¿Cómo te llamas? Escribe tu nombre, por favor.")
        update_contact(db, contact, name=name)
        return _next(db, contact, plugin)
    asked = _field(plugin, (step or "").removeprefix(FIELD_PREFIX))
    if asked is not None and (chosen := _chosen(message, len(asked.options))) is not None:
        message = asked.options[chosen]  # «2» for the second option offered
    found = _absorb(db, contact, plugin, message)
    _keep_question(db, contact, message)
    if asked is None or asked.name in found:
        return _next(db, contact, plugin)
    if DONT_KNOW.match(fold(message)):
        _accept_unknown(db, contact, asked)
        return _next(db, contact, plugin)
    try:
        save_profile(db, contact, {asked.name: asked.parse(message)})
    except ValueError as problem:
        if found:  # other answers came: keep them, ask this one again, briefly
            return _ask(db, contact, asked, lead=_understood(plugin, contact, only=found))
        return _ask(db, contact, asked, lead="", again=True, problem=str(problem))
    return _next(db, contact, plugin)


def clean_name(text: str) -> str:
    name = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"^(me llamo|soy|mi nombre es)\s+", "", name, flags=re.IGNORECASE)[:60]


def detect_domain(message: str, plugins: dict[str, DomainPlugin]) -> DomainPlugin | None:
    """The one plug-in a message is about: its signal words, and the fields it states."""
    folded = fold(message)
    scores = {}
    for plugin in plugins.values():
        score = 2 * bool(plugin.signals is not None and plugin.signals.search(folded))
        score += sum(1 for f in plugin.profile_fields if f.find is not None and f.find(message) is not None)
        scores[plugin.name] = score
    best = max(scores.values(), default=0)
    winners = [name for name, score in scores.items() if score == best]
    return plugins[winners[0]] if best > 0 and len(winners) == 1 else None


def _chosen(answer: str, count: int) -> int | None:
    """The index of the numbered option an answer picks («2» -> 1), or None. ASCII digits only:
    "፩" passes isdigit() and int(), and is no option anyone was offered."""
    number = fold(answer).strip(" .!")
    return int(number) - 1 if number.isascii() and number.isdigit() and 1 <= int(number) <= count else None


def _pick_domain(answer: str, plugins: dict[str, DomainPlugin]) -> DomainPlugin | None:
    folded = fold(answer).strip(" .!")
    choices = list(plugins.values())
    if (chosen := _chosen(answer, len(choices))) is not None:
        return choices[chosen]
    for plugin in choices:
        if fold(plugin.label) in folded or plugin.name in folded:
            return plugin
    return None


def _field(plugin: DomainPlugin, name: str) -> ProfileField | None:
    return next((f for f in plugin.profile_fields if f.name == name), None)


def _absorb(db, contact: Contact, plugin: DomainPlugin, message: str) -> dict:
    """Every field the message states, saved as answered; the ones already known are kept."""
    found = {}
    for profile_field in plugin.profile_fields:
        if profile_field.find is None or contact.sources.get(profile_field.name) == "answered":
            continue
        value = profile_field.find(message)
        if value is not None:
            found[profile_field.name] = value
    if found:
        save_profile(db, contact, found)
    return found


def _keep_question(db, contact: Contact, message: str) -> None:
    """A question asked before its facts are known waits to be answered when they are."""
    folded = fold(message)
    if QUESTION.search(folded) and not contact.first_question:
        update_contact(db, contact, first_question=message.strip()[:500])


def _accept_unknown(db, contact: Contact, profile_field: ProfileField) -> None:
    value = profile_field.default(contact.profile) if profile_field.default else None
    if value is not None:
        save_profile(db, contact, {profile_field.name: value}, source="default")
    else:  # nothing to assume: left out, and not asked again now
        contact.sources = {**contact.sources, profile_field.name: UNKNOWN}
        save_profile(db, contact, {})


def _missing(contact: Contact, plugin: DomainPlugin) -> list[ProfileField]:
    return [f for f in plugin.profile_fields
            if f.name not in contact.profile and contact.sources.get(f.name) != UNKNOWN
            and (f.needed is None or f.needed(contact.profile))]


def _next(db, contact: Contact, plugin: DomainPlugin, lead: str = "") -> Step:
    if plugin.asks_name and not contact.name:
        update_contact(db, contact, onboarding_step=STEP_NAME)
        return Step(f"{lead}¿Cómo te llamas?")
    missing = _missing(contact, plugin)
    if missing:  # all of the first answer's needs at once when none is known yet: one message
        everything = len(missing) > 1 and plugin.first_ask and not any(
            f.name in contact.profile for f in plugin.profile_fields if f.needed is not None and f.needed({}))
        return _ask(db, contact, missing[0], lead, together=plugin.first_ask if everything else "")
    return _finish(db, contact, plugin, lead)


def _ask(db, contact: Contact, profile_field: ProfileField, lead: str = "", again: bool = False,
         problem: str = "", together: str = "") -> Step:
    """The question (or, for a vague answer, what was wrong with its examples), never a dead end:
    «no sé» is always offered."""
    update_contact(db, contact, onboarding_step=FIELD_PREFIX + profile_field.name)
    question = problem or together or profile_field.question
    hint = " Si no sabes, responde «no sé»." if again and "no sé" not in question else ""
    return Step(f"{lead}{question}{hint}", () if together else profile_field.options)


def _finish(db, contact: Contact, plugin: DomainPlugin, lead: str) -> Step:
    """Defaults for what was not asked, said once; then the first useful answer."""
    defaults = {}
    for profile_field in plugin.profile_fields:
        if profile_field.name not in contact.profile and profile_field.default is not None:
            value = profile_field.default(contact.profile)
            if value is not None:
                defaults[profile_field.name] = value
    if defaults:
        save_profile(db, contact, defaults, source="default")
    question = contact.first_question or plugin.first_question or None
    update_contact(db, contact, onboarding_step=None, first_question=None)
    name = f", {contact.name}" if contact.name else ""
    if question is None:
        return Step(f"{lead}¡Listo{name}! Ya puedes preguntarme lo que necesites.")
    assumed = [plugin.describe(f, v) for f, v in contact.profile.items() if contact.sources.get(f) == "default"]
    example = f" (por ejemplo «{plugin.correction_example}»)" if plugin.correction_example else ""
    told = f" Supuse {_join(assumed)}; si no es así, dímelo cuando quieras{example}." if assumed else ""
    return Step(f"{lead}¡Listo{name}!{told}", question=question)


def _understood(plugin: DomainPlugin, contact: Contact, only: dict | None = None) -> str:
    """"Anoté: papa, Huancayo. " — what was read, so a misreading shows at once."""
    own = {field.name for field in plugin.profile_fields}  # not what another domain left in the profile
    shown = [plugin.describe(f, v) for f, v in (only or contact.profile).items()
             if f in own and (only is not None or contact.sources.get(f) == "answered")]
    return f"Anoté: {_join(shown)}. " if shown else ""


def _join(parts: list[str]) -> str:
    parts = [p for p in parts if p]
    return ", ".join(parts[:-1]) + f" y {parts[-1]}" if len(parts) > 1 else "".join(parts)


# --- asked later, once ----------------------------------------------------------------------------

def ask_later(db, contact: Contact, plugin: DomainPlugin) -> str:
    """The first field still at its default that the plug-in asks after the first answer; it is
    asked once (the step is cleared by whatever the next message is)."""
    for profile_field in plugin.profile_fields:
        if profile_field.later and contact.sources.get(profile_field.name) != "answered":
            update_contact(db, contact, onboarding_step=LATER_PREFIX + profile_field.name)
            return profile_field.later
    return ""


def later_answer(db, contact: Contact, message: str, plugin: DomainPlugin) -> Step | None:
    """The answer to the question asked later, saved; None when the message is something else
    (then it goes the normal way, and the question is not asked again)."""
    profile_field = _field(plugin, (contact.onboarding_step or "").removeprefix(LATER_PREFIX))
    update_contact(db, contact, onboarding_step=None)
    if profile_field is None or "?" in message:  # a question, not the answer
        return None
    if DONT_KNOW.match(fold(message)):
        return Step("Está bien, sigo con lo que supuse; me lo dices cuando lo sepas.")
    value = profile_field.find(message) if profile_field.find else None
    if value is None:
        if len(message.split()) > 4:  # «hoy corrí 5 km…» is not «5»: only a short answer is read whole
            return None
        try:
            value = profile_field.parse(message)
        except ValueError:
            return None
    given = {**_absorb(db, contact, plugin, message), profile_field.name: value}  # «suelo arcilloso, goteo…»
    save_profile(db, contact, given)
    if plugin.on_profile_change:
        plugin.on_profile_change(db, contact, given)
    return Step(f"Anoté: {_join([plugin.describe(name, v) for name, v in given.items()])}.",
                question=profile_field.then or None)
