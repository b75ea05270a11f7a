"""gunicorn settings for the model API.

One worker process: a llama.cpp context holds the model in memory and serves one request at a
time, so more processes would only multiply memory. Threads keep the bounded request queue
shared and let /health and /metrics answer while a generation runs.
"""
import os

from chasqui.network import gunicorn_when_ready
from model_api.settings import check_network_safety, load_settings

bind = f"{os.environ.get('MODEL_API_HOST', '127.0.0.1')}:{os.environ.get('MODEL_API_PORT', '8001')}"
workers = 1
worker_class = "gthread"
threads = int(os.environ.get("MODEL_API_HTTP_THREADS", "16"))
# A streamed answer can take minutes on a CPU; the app enforces its own per-request time limit.
timeout = int(float(os.environ.get("MODEL_API_REQUEST_TIMEOUT", "120"))) + 60
graceful_timeout = 30
accesslog = None  # the app logs every request as JSON
errorlog = "-"
# Off loopback without MODEL_API_TOKEN, the master stops (exit code 2) before any worker starts. It checks
# the sockets really bound, so a --bind on the command line or a systemd socket is checked too.
when_ready = gunicorn_when_ready(load_settings, check_network_safety)
