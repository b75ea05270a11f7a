"""Regenerates docs/sample_progress_card.png, the progress card for a realistic runner: eight weeks
rising from 20 to 34 km with a cutback week, VDOT 44.1 → 46.3, 18 of 20 sessions and logged moods.

    .venv/bin/python bench/make_sample_progress_card.py
"""
from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from backend.plugins.running.progress_card import CardData, render_card, short_date  # noqa: E402

OUTPUT = REPO / "docs" / "sample_progress_card.png"


def sample() -> CardData:
    start = date(2026, 11, 3)
    mondays = [start - timedelta(weeks=6 - i) for i in range(8)]
    volumes = [20.0, 23.5, 26.0, 18.5, 27.5, 30.0, 32.0, 34.0]  # week 4 is the cutback
    vdot = [44.1, 44.3, 44.2, 44.8, 45.1, 45.4, 45.9, 46.3]
    return CardData(
        name="Lucía Quispe Mamani",
        period_start=start,
        period_end=start + timedelta(days=13),
        weekly_km=[(short_date(day), km) for day, km in zip(mondays, volumes)],
        vdot_trend=[(day + timedelta(days=5), value) for day, value in zip(mondays, vdot)],
        planned_runs=20,
        done_runs=18,
        moods=[4, 5, 4, 3, 4, 4, 5, 2, 4, 5, 4, 3, 4, 5, 4, 4, 5, 4],
        total_km=66.0,
        longest_run_km=16.5,
    )


def main() -> None:
    OUTPUT.write_bytes(render_card(sample()))
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
