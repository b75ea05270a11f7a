"""gunicorn entry point: `gunicorn -c deploy/gunicorn/backend.py backend.wsgi:app`."""
from backend.app import create_app

app = create_app()
