"""gunicorn settings for the backend.

Several processes: requests are short and mostly SQLite work, which releases the GIL only in
part. WAL lets all of them read at once; writers take the write lock in turn (see
backend/store/database.py), each for its own short transaction. Every worker migrates on start;
the migrations serialize on the write lock and the second one finds nothing to do. On PostgreSQL
(BACKEND_DATABASE_URL) the same holds across replicas, through an advisory lock.

Threads: /agent holds a thread for as long as the model answers (seconds), and the model API lets
at most 1 + MODEL_API_QUEUE_SIZE calls wait, so 2 x cores workers x 4 threads leave slots for the
bridges' alert polling. Fewer threads hand out single alerts a little faster
(bench/alerts_throughput.py) but two slow chats could then block polling; the bridge polls in
batches, which is twice as fast as any layout with one alert per poll.
"""
import os

from backend.settings import check_network_safety, load_settings
from chasqui.network import gunicorn_when_ready

bind = f"{os.environ.get('BACKEND_HOST', '127.0.0.1')}:{os.environ.get('BACKEND_PORT', '8002')}"
workers = int(os.environ.get("BACKEND_WORKERS", str(2 * (os.cpu_count() or 1))))
worker_class = "gthread"
threads = int(os.environ.get("BACKEND_THREADS", "4"))
# /agent waits for the model (BACKEND_MODEL_TIMEOUT, 60 s by default) and must not be killed first.
timeout = int(float(os.environ.get("BACKEND_MODEL_TIMEOUT", "60"))) + 30
graceful_timeout = 30
keepalive = 5
accesslog = None  # the app logs every request as JSON
errorlog = "-"
# Off loopback without BACKEND_TOKEN, the master stops (exit code 2) before any worker starts. It checks
# the sockets really bound, so a --bind on the command line or a systemd socket is checked too.
when_ready = gunicorn_when_ready(load_settings, check_network_safety)
