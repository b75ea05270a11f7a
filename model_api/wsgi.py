"""gunicorn entry point: `gunicorn -c deploy/gunicorn/model_api.py model_api.wsgi:app`."""
import logging
import sys

from chasqui.env import SettingError
from model_api.app import create_app
from model_api.model_files import ModelFileError

try:
    app = create_app(exit_on_load_failure=True)
except (ModelFileError, SettingError) as problem:
    logging.getLogger("model_api").error("the model API cannot start", extra={"error": str(problem)})
    print(f"chasqui: the model API cannot start: {problem}", file=sys.stderr)
    sys.exit(3)  # gunicorn stops instead of restarting a worker that can never boot
