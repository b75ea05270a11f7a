"""gunicorn settings for the WhatsApp bridge.

One worker process: the bridge's inbox file, its relay workers and its alert thread belong to
one process (two would send every alert twice as fast but also race on the inbox). Threads
answer webhooks, which only store the message and return; the slow part (waiting for /agent)
runs on the relay's own workers (BRIDGE_RELAY_WORKERS).
"""
import os

bind = f"{os.environ.get('BRIDGE_HOST', '127.0.0.1')}:{os.environ.get('BRIDGE_PORT', '8003')}"
workers = 1
worker_class = "gthread"
threads = int(os.environ.get("BRIDGE_THREADS", "8"))
timeout = 60
graceful_timeout = 40  # the alert thread may be inside a 25 s long-poll
keepalive = 5
accesslog = None
errorlog = "-"
