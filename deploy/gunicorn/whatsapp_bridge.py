"""gunicorn settings for the WhatsApp bridge.

One worker process: the bridge's inbox file, its relay workers and its alert thread belong to
one process (two would send every alert twice as fast but also race on the inbox). Threads
answer webhooks, which only store the message and return; the slow part (waiting for /agent)
runs on the relay's own workers (BRIDGE_RELAY_WORKERS).
"""
import os

from chasqui.network import gunicorn_when_ready
from whatsapp_bridge.settings import check_network_safety, load_settings

bind = f"{os.environ.get('BRIDGE_HOST', '127.0.0.1')}:{os.environ.get('BRIDGE_PORT', '8003')}"
workers = 1
worker_class = "gthread"
threads = int(os.environ.get("BRIDGE_THREADS", "8"))
timeout = 60
graceful_timeout = 40  # the alert thread may be inside a 25 s long-poll
keepalive = 5
accesslog = None
errorlog = "-"
# With the simulator off loopback and no BRIDGE_SIMULATOR_ALLOW_NETWORK=1, the master stops (exit code 2) before
# any worker starts. It checks the sockets really bound, so a --bind on the command line is checked too.
when_ready = gunicorn_when_ready(load_settings, check_network_safety)
