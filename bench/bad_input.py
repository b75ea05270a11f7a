"""The bad-input suite (tests/robustness) at bench size: the same tests, with hypothesis's "bench"
profile (hundreds of examples per test instead of a few dozen), then the figures: requests per
service, how many were accepted and refused, how many were server errors (the target is 0), and
the wall time. Not a timed test: run it by hand.

    .venv/bin/python bench/bad_input.py [--profile bench|ci] [-k EXPRESSION] [--routes]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pytest  # noqa: E402

from tests.robustness import harness  # noqa: E402  (the same module the tests count into)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="bench", choices=("bench", "ci"))
    parser.add_argument("-k", default=None, help="only the tests pytest -k selects")
    parser.add_argument("--routes", action="store_true", help="also print the statuses each route gave")
    options = parser.parse_args()
    arguments = [str(REPO / "tests" / "robustness"), "-q", "-p", "no:cacheprovider", f"--hypothesis-profile={options.profile}",
                 "--timeout=0"]  # hundreds of examples per test run past the suite's 300 s per test
    if options.k:
        arguments += ["-k", options.k]
    started = time.perf_counter()
    exit_code = pytest.main(arguments)
    wall_s = time.perf_counter() - started
    print_figures(options.profile, exit_code, wall_s, options.routes)
    return int(exit_code)


def print_figures(profile: str, exit_code: int, wall_s: float, routes: bool) -> None:
    print(f"\nbad-input suite, profile {profile!r}: pytest exit code {int(exit_code)}, wall time {wall_s:.1f} s")
    print(f"{'service':<10} {'requests':>9} {'accepted':>9} {'refused':>9} {'5xx':>5} {'s in requests':>14}")
    total = {"requests": 0.0, "accepted": 0.0, "refused": 0.0, "server_errors": 0.0, "seconds": 0.0}
    for service in sorted(harness.TALLY):
        tally = harness.TALLY[service]
        for key in total:
            total[key] += tally[key]
        print(f"{service:<10} {tally['requests']:>9.0f} {tally['accepted']:>9.0f} {tally['refused']:>9.0f} "
              f"{tally['server_errors']:>5.0f} {tally['seconds']:>14.1f}")
    print(f"{'all':<10} {total['requests']:>9.0f} {total['accepted']:>9.0f} {total['refused']:>9.0f} "
          f"{total['server_errors']:>5.0f} {total['seconds']:>14.1f}")
    print("(requests made by the checks themselves, such as the «hola» after each accepted input, are not counted; "
          "a failing test's shrinking is)")
    if routes:
        for (service, method, path), statuses in sorted(harness.STATUSES.items()):
            shown = ", ".join(f"{status}: {count}" for status, count in statuses.most_common())
            print(f"  {service:<9} {method:<6} {path:<40} {shown}")


if __name__ == "__main__":
    sys.exit(main())
