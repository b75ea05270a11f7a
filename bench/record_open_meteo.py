"""Re-record the Open-Meteo answers the agro weather tests serve from loopback
(tests/agro/data/open_meteo/), replacing the hand-made ones, on a machine with internet access.

    .venv/bin/python bench/record_open_meteo.py              # overwrite the fixtures
    .venv/bin/python bench/record_open_meteo.py --out /tmp/om # or record elsewhere to compare

The forecast query is built by the client's own forecast_params(), so a recording is exactly what
OpenMeteoClient.daily() asks for (same coordinates, variables, units, past/forecast days). The
tests compare parsed values with whatever the files hold, so they keep passing on new recordings;
after recording, run `.venv/bin/pytest tests/agro`, then edit the folder's README.md: the files
are no longer hand-made (say when they were recorded). Five requests in all, one per second, well
inside Open-Meteo's free, non-commercial use."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from backend.plugins.agro.weather import forecast_params  # noqa: E402

FORECAST_URL = "https://api.open-meteo.com/v1/forecast"
GEOCODING_URL = "https://geocoding-api.open-meteo.com/v1/search"
DEFAULT_OUT = REPO / "tests" / "agro" / "data" / "open_meteo"
# The coordinates the tests ask for (tests/agro/test_weather.py: CAJAMARCA, HUARAL).
PLACES = {"cajamarca": (-7.16, -78.51), "huaral": (-11.50, -77.21)}
# name -> file; the last one should match nothing in Peru.
SEARCHES = {"Cajamarca": "geocoding_cajamarca.json", "Huaral": "geocoding_huaral.json",
            "Chacrita Perdida": "geocoding_not_found.json"}


def fetch(url: str, params: dict, expect_status: int = 200) -> dict:
    response = requests.get(url, params=params, timeout=30)
    if response.status_code != expect_status:
        raise SystemExit(f"{response.url}: HTTP {response.status_code}, expected {expect_status}: {response.text[:300]}")
    time.sleep(1)  # polite pacing
    return response.json()


def save(out: Path, name: str, payload: dict) -> None:
    path = out / name
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")


def record(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for place, (lat, lon) in PLACES.items():
        save(out, f"forecast_{place}.json", fetch(FORECAST_URL, forecast_params(lat, lon, 7, 7)))
    for name, file_name in SEARCHES.items():
        params = {"name": name, "count": 5, "language": "es", "format": "json", "countryCode": "PE"}
        save(out, file_name, fetch(GEOCODING_URL, params))
    # the documented error object: a latitude out of range, sent around the client's validation
    bad = {**forecast_params(*PLACES["cajamarca"], 7, 7), "latitude": "91"}
    save(out, "forecast_error_400.json", fetch(FORECAST_URL, bad, expect_status=400))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"folder to write (default {DEFAULT_OUT})")
    record(parser.parse_args().out)
    print("now run the agro tests and update README.md in that folder (recorded, not hand-made)")


if __name__ == "__main__":
    main()
