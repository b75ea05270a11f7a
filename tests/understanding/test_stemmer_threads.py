"""Stems are the same from many threads at once (Flask serves /agent from several): a shared
Snowball stemmer returned wrong stems and raised IndexError under concurrency."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from backend.understanding.reading import stem

WORDS = ["regar", "riego", "regué", "sembramos", "cosechando", "corriendo", "kilómetros", "entrenamientos",
         "plagas", "rancha", "aspersión", "maratones"] * 50


def test_stems_from_four_threads_match_stems_from_one():
    expected = [stem(word) for word in WORDS]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: [stem(word) for word in WORDS], range(16)))
    assert all(result == expected for result in results)
