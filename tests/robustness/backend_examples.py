"""A valid request for each of the backend's routes, as the existing tests make them
(tests/backend, tests/agro, tests/running): the starting points the mutation tests break one
field of. A route added to the backend without an example here fails
test_backend_inputs.test_every_route_has_a_valid_example.

Reports and plots go to a producer onboarded for the example: one producer's advice reads all of
their reports for each plot, so one producer collecting hundreds of them would make every later
example slow (see the report: reports() validates each stored row from scratch)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from backend.alerts import repository
from backend.store.database import transaction
from tests.agro.conftest import lima_today
from tests.robustness.bridge_world import multipart
from tests.robustness.worlds import AGRO, NOTES, RUNNER, BackendWorld

GARMIN_CSV = (Path(__file__).parents[1] / "running" / "data" / "activities_en.csv").read_bytes()


@dataclass
class Example:
    body: Any = None  # a JSON value, or bytes sent as they are
    path: dict = field(default_factory=dict)  # the rule's parameters
    query: list = field(default_factory=list)  # (name, value) pairs
    content_type: str | None = "application/json"
    phones: tuple[str, ...] = ()  # contacts the request is about


def _today() -> str:
    return lima_today().isoformat()


def _forms(world: BackendWorld) -> list[Callable[[], Example]]:
    def form(name: str, data: dict, domain: str = AGRO) -> Callable[[], Example]:
        def make() -> Example:
            phone = world.new_contact(domain)
            return Example({"phone": phone, "form": name, "data": data}, phones=(phone,))
        return make
    return [form("riego", {"fecha": _today(), "horas": 2}), form("riego", {"lote": "lote 1", "fecha": _today(), "mm": 20}),
            form("lluvia", {"fecha": _today(), "mm": 12.5}), form("plaga", {"fecha": _today(), "plaga": "gusano cogollero"}),
            form("siembra", {"lote": "lote 1", "fecha": _today(), "cultivo": "papa"}),
            form("cosecha", {"lote": "lote 1", "fecha": _today()}), form("nota", {"texto": "regar el lote 2"}, NOTES)]


def _alert_report(world: BackendWorld, extra: dict) -> Example:
    alert_id, lease = world.claimed_alert()
    return Example({"lease_token": lease, **extra}, path={"alert_id": str(alert_id)})


def _new_report(world: BackendWorld, domain: str, text: str) -> Example:
    phone = world.new_contact(domain)
    return Example({"phone": phone, "message": text, "role": "consulta", "message_id": f"wamid.agent.{world.unique()}"},
                   phones=(phone,))


def _new_plot(world: BackendWorld) -> Example:
    phone = world.new_contact(AGRO)
    return Example({"lote": "lote 2", "cultivo": "papa", "fecha_siembra": "hace 1 mes", "area": "1 ha",
                    "ubicacion": "Huaral", "suelo": "franco", "riego": "aspersión 8 mm/h", "fuente_agua": "canal"},
                   query=[("phone", phone)], phones=(phone,))


EXAMPLES: dict[tuple[str, str], Callable[[BackendWorld], list[Callable[[], Example]]]] = {
    ("GET", "/health"): lambda w: [lambda: Example(content_type=None)],
    ("GET", "/metrics"): lambda w: [lambda: Example(content_type=None)],
    ("POST", "/agent"): lambda w: [
        lambda: _new_report(w, AGRO, "Ayer regué 2 horas"),
        lambda: _new_report(w, RUNNER, "Hoy corrí 10 km en 55 minutos"),
        lambda: Example({"phone": f"+5198{w.unique():07d}", "message": "hola"}),
        lambda: Example({"phone": "51987000003@c.us", "message": "anota: comprar semillas"}, phones=(NOTES,)),
        lambda: Example({"phone": f"+5198{w.unique():07d}", "message": "hola", "channel": "123456789012345"})],
    ("POST", "/form/update"): _forms,
    ("GET", "/example/reminders"): lambda w: [lambda: Example(query=[("phone", NOTES)], content_type=None,
                                                              phones=(NOTES,))],
    ("POST", "/alert"): lambda w: [
        lambda: Example({"phone": AGRO, "message": "Helada esta noche", "level": "alta"}, phones=(AGRO,)),
        lambda: Example({"filter": {"domain": "agro", "cultivo": "maíz"}, "message": "Lluvias fuertes", "level": "media"})],
    ("GET", "/alerts/pending"): lambda w: [lambda: Example(query=[("limit", "5"), ("wait", "0")], content_type=None),
                                           lambda: Example(query=[("limit", "5"), ("channel", "123456789012345")],
                                                           content_type=None)],
    ("POST", "/alerts/<int:alert_id>/sent"): lambda w: [
        lambda: _alert_report(w, {"provider_message_id": f"wamid.sent.{w.unique()}"})],
    ("GET", "/alerts/<int:alert_id>/image"): lambda w: [
        lambda: Example(path={"alert_id": str(w.claimed_alert()[0])}, content_type=None)],
    ("GET", "/alerts/<int:alert_id>/document"): lambda w: [
        lambda: Example(path={"alert_id": str(_document_alert(w))}, content_type=None)],
    ("POST", "/alerts/<int:alert_id>/release"): lambda w: [lambda: _alert_report(w, {})],
    ("POST", "/alerts/<int:alert_id>/failed"): lambda w: [
        lambda: _alert_report(w, {"error": "bridge: number not on WhatsApp"})],
    ("POST", "/alerts/delivery"): lambda w: [
        lambda: Example({"provider_message_id": w.sent_alert(), "status": "delivered", "error": None})],
    ("GET", "/agro/plots"): lambda w: [lambda: Example(query=[("phone", AGRO)], content_type=None, phones=(AGRO,)),
                                       lambda: Example(query=[("phone", w.new_contact(AGRO))], content_type=None)],
    ("POST", "/agro/plots"): lambda w: [
        lambda: Example({"lote": f"lote r{w.unique()}", "cultivo": "papa", "fecha_siembra": "hace 1 mes",
                         "area": "1 ha", "ubicacion": "Huaral", "suelo": "franco", "riego": "aspersión 8 mm/h",
                         "fuente_agua": "canal"}, query=[("phone", AGRO)], phones=(AGRO,))],
    ("POST", "/running/import/garmin"): lambda w: [
        lambda: Example(GARMIN_CSV, query=[("phone", RUNNER)], content_type="text/csv", phones=(RUNNER,))],
    ("POST", "/agent/reaction"): lambda w: [
        lambda: Example({"phone": AGRO, "message_id": f"wamid.reaction.{w.unique()}", "reacted_to": w.sent_alert(),
                         "emoji": "👍", "reply_to": f"wamid.unknown.{w.unique()}"}, phones=(AGRO,)),
        lambda: Example({"phone": RUNNER, "message_id": f"wamid.reaction.{w.unique()}",
                         "reacted_to": f"wamid.unknown.{w.unique()}", "emoji": ""}, phones=(RUNNER,))],
    ("GET", "/stats"): lambda w: [lambda: Example(query=[("from", "2026-11-01"), ("to", "2026-11-30")], content_type=None),
                                  lambda: Example(query=[("domain", "agro")], content_type=None)],
    # An empty note is answered without the speech engine (the world has none): «me llegó vacía».
    ("POST", "/agent/voice"): lambda w: [lambda: _voice_note(w, AGRO), lambda: _voice_note(w, RUNNER)],
}


def _document_alert(world: BackendWorld) -> int:
    """A file queued for a contact, as «MIS DATOS» queues one."""
    with transaction(world.db) as connection:
        contact_id = connection.execute("SELECT id FROM contacts WHERE phone = ?", [AGRO]).fetchone()[0]
        return repository.queue_outbound(connection, contact_id, "Tus datos", "document", None,
                                         ("mis_datos.txt", "text/plain", b"{}"))


def _voice_note(world: BackendWorld, phone: str) -> Example:
    body, content_type = multipart({"phone": phone, "message_id": f"wamid.voice.{world.unique()}", "role": "consulta"},
                                   ("nota.ogg", "audio/ogg; codecs=opus", b""))
    return Example(body, content_type=content_type, phones=(phone,))
