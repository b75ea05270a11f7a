"""Helpers for tests/test_several_of_each.py: a fleet of real Chasqui processes on loopback — model
APIs, backends sharing one PostgreSQL database, and `chasqui bridge` processes on the Cloud API
transport, each with its own WhatsApp number (its own fake Graph API) — all stopped by one
ExitStack, whatever happens."""
from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

import requests

from tests.servers import CHASQUI, RunningService, free_port, service_env
from tests.whatsapp_bridge import webhook_payloads as meta
from tests.whatsapp_bridge.fake_graph_api import FakeGraphAPI, text_of

T = TypeVar("T")
_TIME = re.compile(r'"time": "[^"]*", ')  # log lines that differ only in their time are one


@dataclass
class Number:
    """One WhatsApp business number: its ids at Meta, the Graph API stand-in that answers for it,
    and the bridge process that sends from it."""
    label: str
    phone_number_id: str
    display_phone_number: str
    graph: FakeGraphAPI
    bridge: RunningService | None = None

    def webhook(self, phone: str, text: str, name: str, message_id: str) -> dict:
        """A user's text to this number, as Meta delivers it (metadata names this number)."""
        return meta.text_message(phone, text, message_id=message_id, name=name, phone_number_id=self.phone_number_id,
                                 display_phone_number=self.display_phone_number)

    def sent(self) -> list[dict]:
        """Every message this number sent, with the Graph id the fake gave it: {to, text, context, id}."""
        return [{"to": "+" + meta.digits_only(r["body"]["to"]), "text": text_of(r["body"]),
                 "context": (r["body"].get("context") or {}).get("message_id"), "id": r["message_id"]}
                for r in list(self.graph.accepted) if r["kind"] == "message"]


def in_parallel(*starts: Callable[[], T]) -> list[T]:
    """Run the callables at once (each starts a process and waits for its /health); their results
    in order. If one fails, the others still finish first, so the caller can stop what started."""
    with ThreadPoolExecutor(max_workers=len(starts)) as pool:
        futures = [pool.submit(start) for start in starts]
        results, problem = [], None
        for future in futures:
            try:
                results.append(future.result())
            except Exception as error:  # noqa: BLE001 - re-raised below, after the others
                results.append(None)
                problem = problem or error
    if problem is not None:
        for result in results:
            if isinstance(result, RunningService):
                result.stop()
        raise problem
    return results


def start_cloud_bridge(folder: Path, number: Number, backend_url: str, backend_token: str, app_secret: str,
                       **env_overrides: str) -> RunningService:
    """`chasqui bridge` on the cloud transport, sending from `number` (its fake Graph API), talking
    to one backend; quick alert polling and no "un momento" note, so every message it sends is
    either a reply or an alert."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = service_env(BRIDGE_TRANSPORT="cloud", BRIDGE_PORT=str(port), BACKEND_URL=backend_url,
                      BACKEND_TOKEN=backend_token, BRIDGE_STATE_PATH=str(folder / "bridge.db"),
                      WHATSAPP_GRAPH_API_URL=number.graph.base_url, WHATSAPP_GRAPH_API_VERSION=number.graph.version,
                      WHATSAPP_ACCESS_TOKEN=number.graph.access_token,
                      WHATSAPP_PHONE_NUMBER_ID=number.phone_number_id, WHATSAPP_APP_SECRET=app_secret,
                      WHATSAPP_VERIFY_TOKEN=f"verify-{number.label}", WHATSAPP_SENDS_PER_SECOND="200",
                      BRIDGE_HOLDING_AFTER="0", BRIDGE_RETRY_EVERY="0.5", ALERT_POLL_SECONDS="0.5",
                      ALERT_LONG_POLL_SECONDS="5", BRIDGE_BACKEND_TIMEOUT="120", CHASQUI_LOG_LEVEL="WARNING",
                      **env_overrides)
    service = RunningService(CHASQUI + ["bridge"], env, port, folder / f"bridge-{number.label}-{port}.log")
    try:
        service.wait_ready(timeout_s=60)
    except Exception:
        service.stop()
        raise
    return service


def post_signed(bridge: RunningService, payload: dict, app_secret: str) -> None:
    """POST one webhook to a bridge, signed with the app secret as Meta signs it; asserts the 200."""
    raw, headers = meta.signed_post_args(payload, app_secret)
    response = requests.post(f"{bridge.url}/webhook", data=raw, headers=headers, timeout=10)
    assert response.status_code == 200, response.text


def wait_until(condition: Callable[[], T], timeout_s: float, what: str, every_s: float = 0.05) -> T:
    """The condition's first truthy value, or AssertionError naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out after {timeout_s:g} s waiting for {what}"
        time.sleep(every_s)
    return value


def logs_of(services: list[RunningService | None], tail: int = 1500) -> str:
    """For a failure message: each service's distinct error lines (cut short), then its log's end."""
    parts = []
    for service in services:
        if service is None:
            continue
        text, errors = service.log(), error_lines(service)
        parts.append(f"--- {service.log_path}: {len(errors)} distinct error lines\n" + "\n".join(errors[:10])
                     + f"\n... its last lines:\n{text[-tail:]}")
    return "\n".join(parts)


def error_lines(service: RunningService) -> list[str]:
    """The distinct ERROR-level lines (and tracebacks) of a service's log, without their times."""
    return list(dict.fromkeys(_TIME.sub("", line)[:700] for line in service.log().splitlines()
                              if '"level": "ERROR"' in line or '"level": "CRITICAL"' in line or "Traceback" in line))


def stop_all_on_exit(stack: ExitStack, *services: RunningService | None) -> None:
    for service in services:
        if service is not None:
            stack.callback(service.stop)
