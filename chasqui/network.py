"""Which listen addresses only this machine can reach, and the rules built on that: a service
that listens anywhere else needs its token, and a page without a login (the simulator) stays on
loopback unless someone said otherwise on purpose.

Every way of starting a service calls these: `chasqui model-api|backend|bridge|up` (chasqui/cli.py),
the gunicorn entry points (*/wsgi.py, which check the settings' host) and the gunicorn configs
(deploy/gunicorn/*.py, which check the sockets gunicorn really bound, whatever --bind said).
"""
from __future__ import annotations

import ipaddress
import sys
from typing import Callable

from chasqui.env import SettingError

LOOPBACK_NAMES = ("localhost",)


class ExposedService(SettingError):
    """A service would listen where other machines reach it without what protects it there."""


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 (also as [::1] or ::ffff:127.x.y.z) and "localhost"; False for
    everything else: 0.0.0.0, ::, "" (all interfaces), LAN and public addresses, other names.
    A name other than localhost may resolve anywhere, so it counts as reachable."""
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host.lower().rstrip(".") in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # Python 3.11 calls ::ffff:127.0.0.1 not loopback
    return address.is_loopback


def require_token_off_loopback(service: str, host: str, token: str, variable: str) -> None:
    """Refuse (ExposedService) to let `service` listen on a non-loopback `host` with an empty token."""
    if token or is_loopback(host):
        return
    raise ExposedService(
        f"{service} will not start: it would listen on {host or 'every interface'}, an address other "
        f"machines can reach, and {variable} is empty, so anyone who reaches it could call it. Set "
        f"{variable} to a long random secret (python -c 'import secrets; print(secrets.token_urlsafe(32))') "
        f"and give the same value to the services that call it, or listen on 127.0.0.1 (the default).")


def require_loopback_unless_allowed(service: str, host: str, allowed: bool, variable: str, danger: str) -> None:
    """Refuse (ExposedService) a non-loopback `host` for `service` unless `variable` allows it."""
    if allowed or is_loopback(host):
        return
    raise ExposedService(
        f"{service} will not start: it would listen on {host or 'every interface'}, an address other "
        f"machines can reach, and {danger}. Listen on 127.0.0.1 (the default), or set {variable}=1 "
        f"if everyone who can reach that address may do so.")


def refuse_to_start(problem: SettingError, exit_code: int) -> None:
    """Print the problem as one paragraph on stderr and exit: a refusal is not a crash, so no traceback."""
    print(f"chasqui: {problem}", file=sys.stderr, flush=True)
    raise SystemExit(exit_code)


def wsgi_settings(load_settings: Callable, check: Callable):
    """The settings a wsgi entry point serves with, checked; a refusal exits with code 3, which
    makes gunicorn stop instead of restarting a worker that can never boot."""
    try:
        settings = load_settings()
        check(settings)
    except SettingError as problem:
        refuse_to_start(problem, 3)
    return settings


def gunicorn_listening_hosts(server) -> list[str]:
    """The hosts gunicorn's master listens on: its bound sockets (which --bind, systemd socket
    activation or fd:// decided), else its configured addresses. Unix sockets are left out: the
    file system's permissions guard them, and only this machine has that file system."""
    if server.LISTENERS:
        names = [listener.sock.getsockname() for listener in server.LISTENERS]
    else:
        names = list(server.cfg.address)
    return [name[0] for name in names if isinstance(name, tuple)]


def gunicorn_when_ready(load_settings: Callable, check: Callable) -> Callable:
    """A gunicorn `when_ready` hook: run `check` on the service's settings with each listening
    host, and stop the master (exit code 2, before any worker starts) if one is refused."""
    def when_ready(server) -> None:
        try:
            settings = load_settings()
            for host in gunicorn_listening_hosts(server):
                check(settings.with_overrides(host=host))
        except SettingError as problem:
            refuse_to_start(problem, 2)
    return when_ready
