"""Serving a WSGI app locally (`chasqui model-api`, `chasqui up`); production uses gunicorn."""
from __future__ import annotations

import logging
import signal
import threading

from werkzeug.serving import BaseWSGIServer, make_server

log = logging.getLogger(__name__)


def start_server(app, host: str, port: int) -> tuple[BaseWSGIServer, threading.Thread]:
    server = make_server(host, port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=f"http-{port}", daemon=True)
    thread.start()
    log.info("listening", extra={"url": f"http://{host}:{server.server_port}"})
    return server, thread


def wait_for_stop_signal() -> None:
    """Block until Ctrl-C or SIGTERM."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
