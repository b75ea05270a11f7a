"""New users' first messages, played through the real backend (in-process, its SQLite file in a
temporary folder, every domain on as `./dev up` runs it, the model API unreachable: onboarding
must never need it). Each persona of tests/onboarding/data/openings.json opens the way people
write and answers whatever it is asked from its own facts («no sé» when it has none; "a|b" is a
vague answer, then a clear one). Prints, per split (dev: tuned on; test: held out):
messages until the first useful answer (median, max), openings whose domain was picked right,
fields filled right from free-form answers.

    .venv/bin/python bench/onboarding.py [--errors]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from backend.text import fold  # noqa: E402

OPENINGS = REPO / "tests" / "onboarding" / "data" / "openings.json"
MAX_MESSAGES = 8
AUTH_TOKEN = "bench-token"


@dataclass
class Played:
    persona: dict
    messages: int | None  # until the first useful answer; None: never within MAX_MESSAGES
    domain: str | None
    fields_right: int
    fields_total: int
    wrong: list[str] = field(default_factory=list)
    transcript: list[tuple[str, str]] = field(default_factory=list)


def personas(split: str | None = None) -> list[dict]:
    everyone = json.loads(OPENINGS.read_text(encoding="utf-8"))
    return [p for p in everyone if split is None or p["split"] == split]


def play(client, db, persona: dict, phone: str) -> Played:
    """Talk as the persona until an answer that is not onboarding comes back."""
    answers = {key: value.split("|") for key, value in persona["answers"].items()}
    text, transcript = persona["opening"], []
    for count in range(1, MAX_MESSAGES + 1):
        response = client.post("/agent", json={"phone": phone, "message": text},
                               headers={"Authorization": f"Bearer {AUTH_TOKEN}"})
        assert response.status_code == 200, response.text
        reply = response.json
        transcript.append((text, reply["model_output"]["respuesta_chat"]))
        if reply["source"] != "onboarding":
            return _judge(db, persona, phone, count, transcript)
        step = db.execute("SELECT onboarding_step FROM contacts WHERE phone = ?", [phone]).fetchone()[0] or ""
        asked = ["domain"] if step == "domain" else [step.removeprefix("field:")]
        if " y " in transcript[-1][1].split("?")[0][-80:]:  # «¿Qué cultivo tienes y dónde…?»: both, if known
            asked += [name for name in TOGETHER.get(asked[0], ()) if name in answers]
        text = ", ".join(_say(answers, name) for name in asked)
    return _judge(db, persona, phone, None, transcript)


TOGETHER = {"cultivo": ("ubicacion",), "objetivo": ("marca",)}  # what the plug-ins' first questions ask together


def _say(answers: dict, asked: str) -> str:
    said = answers.get(asked) or ["no sé"]
    return said.pop(0) if len(said) > 1 else said[0]


def _judge(db, persona: dict, phone: str, messages: int | None, transcript) -> Played:
    row = db.execute("SELECT c.domain, p.data FROM contacts c LEFT JOIN profiles p ON p.contact_id = c.id "
                     "WHERE c.phone = ?", [phone]).fetchone()
    domain, profile = row[0], json.loads(row[1] or "{}")
    wrong = []
    for key, expected in persona["expected"].items():
        value = profile
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        same = fold(str(value)) == fold(str(expected)) if isinstance(expected, str) else value == expected
        if not same:
            wrong.append(f"{key}: {value!r} (expected {expected!r})")
    right = len(persona["expected"]) - len(wrong)
    return Played(persona, messages, domain, right, len(persona["expected"]), wrong, transcript)


def backend_for_bench(folder: Path):
    """The backend as `./dev up` runs it (agro, running, example), weather from the loopback fake
    that places every town at Huaral's recording (the bench measures onboarding, not geocoding)."""
    import os

    from backend.app import create_app
    from backend.settings import load_settings
    from tests.agro.fake_open_meteo import FakeOpenMeteo
    from tests.agro.conftest import lima_today

    class AnyPlaceWeather(FakeOpenMeteo):
        def answer(self, path, query):
            if path == "/v1/search":
                query = {**query, "name": "huaral"}
            return super().answer(path, query)

    weather = AnyPlaceWeather()
    weather.align_to = lima_today()
    os.environ["AGRO_OPEN_METEO_URL"] = os.environ["AGRO_GEOCODING_URL"] = weather.url
    app = create_app(load_settings().with_overrides(
        db_path=folder / "chasqui.db", token=AUTH_TOKEN, plugins=("agro", "running", "example"),
        model_api_url="http://127.0.0.1:9", secondary_model_api_url="", model_retries=0, warm_up=False))
    app.extensions["chasqui_scheduler"].stop()
    return app, weather


def play_all(split: str | None = None) -> list[Played]:
    with tempfile.TemporaryDirectory() as folder:
        app, weather = backend_for_bench(Path(folder))
        try:
            client, db = app.test_client(), app.extensions["chasqui_store"].db
            return [play(client, db, persona, f"+5190000{index:04d}")
                    for index, persona in enumerate(personas(split))]
        finally:
            weather.stop()


def summary(played: list[Played]) -> dict:
    counts = [p.messages for p in played]
    reached = [c for c in counts if c is not None]
    return {"openings": len(played),
            "median_messages": statistics.median(reached) if reached else None,
            "max_messages": max(reached) if len(reached) == len(counts) and reached else None,
            "never_answered": len(counts) - len(reached),
            "domain_right": sum(p.domain == p.persona["domain"] for p in played) / len(played),
            "fields_right": sum(p.fields_right for p in played) / max(sum(p.fields_total for p in played), 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="print the conversations that missed")
    args = parser.parse_args()
    played = play_all()
    print(f"{'split':6} {'openings':>8} {'median msgs':>11} {'max msgs':>8} {'never':>5} {'domain ok':>9} "
          f"{'fields ok':>9}")
    for split in ("dev", "test"):
        part = [p for p in played if p.persona["split"] == split]
        s = summary(part)
        print(f"{split:6} {s['openings']:8d} {s['median_messages']!s:>11} {s['max_messages']!s:>8} "
              f"{s['never_answered']:5d} {s['domain_right']:9.0%} {s['fields_right']:9.0%}")
    if args.errors:
        for p in played:
            if p.wrong or p.messages is None or p.messages > 3 or p.domain != p.persona["domain"]:
                print(f"\n{p.persona['id']} ({p.messages} msgs, domain {p.domain}): {'; '.join(p.wrong)}")
                for said, answer in p.transcript:
                    print(f"  > {said}\n  < {answer[:300]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
