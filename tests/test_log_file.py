"""CHASQUI_LOG_FILE (what `./dev up` sets in a terminal): every log line in the file, only the
errors also on stderr, so the sample conversation on stdout stays readable."""
from __future__ import annotations

import json
import subprocess
import sys

from tests.servers import service_env

SCRIPT = ("import logging; from chasqui.logs import configure_logging; configure_logging('demo'); "
          "log = logging.getLogger('demo'); log.info('request served'); log.error('something broke'); "
          "print('  < la respuesta')")


def test_logs_go_to_the_file_and_only_errors_stay_on_stderr(tmp_path):
    log_file = tmp_path / "logs" / "up.log"  # its folder does not exist yet
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=service_env(CHASQUI_LOG_FILE=str(log_file)),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "  < la respuesta\n"
    assert [json.loads(line)["message"] for line in result.stderr.splitlines()] == ["something broke"]
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert [(line["level"], line["message"]) for line in lines] == [("INFO", "request served"),
                                                                    ("ERROR", "something broke")]


def test_without_it_every_line_is_on_stderr(tmp_path):
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=service_env(CHASQUI_LOG_FILE=""),
                            capture_output=True, text=True, timeout=60)
    assert [json.loads(line)["message"] for line in result.stderr.splitlines()] == ["request served",
                                                                                    "something broke"]
