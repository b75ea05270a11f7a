"""gunicorn entry point: `gunicorn -c deploy/gunicorn/whatsapp_bridge.py whatsapp_bridge.wsgi:app`."""
from whatsapp_bridge.app import create_app

app = create_app()
