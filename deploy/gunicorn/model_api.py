"""gunicorn settings for the model API.

One worker process: a llama.cpp context holds the model in memory and serves one request at a
time, so more processes would only multiply memory. Threads keep the bounded request queue
shared and let /health and /metrics answer while a generation runs.
"""
import os

bind = f"{os.environ.get('MODEL_API_HOST', '127.0.0.1')}:{os.environ.get('MODEL_API_PORT', '8001')}"
workers = 1
worker_class = "gthread"
threads = int(os.environ.get("MODEL_API_HTTP_THREADS", "16"))
# A streamed answer can take minutes on a CPU; the app enforces its own per-request time limit.
timeout = int(float(os.environ.get("MODEL_API_REQUEST_TIMEOUT", "120"))) + 60
graceful_timeout = 30
accesslog = None  # the app logs every request as JSON
errorlog = "-"
