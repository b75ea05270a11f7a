"""Crash suite: SIGKILL the backend, the WhatsApp bridge or the model API (in turn, one per trial)
at drawn moments of conversations and alert deliveries, start it again on the same port and files,
and count what reached the phone: lost and doubled messages and alerts, and how many kills fell
inside an accept->record window (the provider had accepted a send that the killed service had not
recorded yet: the one place where a duplicate is the designed outcome, never a loss).

Every trial runs real processes (`python -m chasqui.cli model-api|backend|bridge`, the bridge on the
cloud transport against the local fake Graph API of tests/whatsapp_bridge/fake_graph_api.py, signed
webhooks sent again until answered 200, as Meta does); the harness is tests/crash/harness.py (its
docstring says how moments are drawn and what counts as lost or doubled).

    .venv/bin/python bench/crash_suite.py --trials 9 [--conversations 6] [--alerts 6] [--seed 1]

ALERT_LEASE_SECONDS of the backends defaults to 5 s here (--lease, or CRASH_ALERT_LEASE_SECONDS):
a killed bridge's claimed alerts wait for it before they are handed out again.
Exits 1 when anything was lost, doubled outside a window, or did not settle.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.crash.harness import (COLUMNS, DEFAULT_LEASE_S, SERVICES, CrashConfig, markdown_table,  # noqa: E402
                                 run_trials, summary_rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=9, help="trials; the killed service cycles "
                                                                "backend, bridge, model-api")
    parser.add_argument("--conversations", type=int, default=6, help="users writing at once in each trial")
    parser.add_argument("--alerts", type=int, default=6, help="alerts created during each trial")
    parser.add_argument("--seed", default="1", help="seed of every drawn moment, user and alert")
    parser.add_argument("--turns", type=int, default=None, help="code-answered turns per user after the "
                                                                 "onboarding (default: all the script's)")
    parser.add_argument("--model-turns", type=int, default=1, help="producers that also ask the model once")
    parser.add_argument("--lease", type=float, default=DEFAULT_LEASE_S, help="ALERT_LEASE_SECONDS (s)")
    parser.add_argument("--aimed-share", type=float, default=1 / 3,
                        help="share of kills drawn right inside a provider's accept (0 to 1)")
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between a kill and the restart")
    parser.add_argument("--services", default=",".join(SERVICES), help="services to kill, in turn")
    parser.add_argument("--keep", metavar="DIR", help="keep the trials' files and logs in DIR")
    args = parser.parse_args(argv)

    config = CrashConfig(conversations=args.conversations, alerts=args.alerts, turns=args.turns,
                         model_turns=args.model_turns, lease_s=args.lease, pause_s=args.pause,
                         aimed_share=args.aimed_share)
    services = tuple(s.strip() for s in args.services.split(",") if s.strip())
    unknown = [s for s in services if s not in SERVICES]
    if unknown:
        parser.error(f"unknown service(s) {unknown}; choose from {', '.join(SERVICES)}")
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="chasqui-crash-"))
    print(f"crash suite: {args.trials} trials, {args.conversations} users and {args.alerts} alerts each, "
          f"seed {args.seed!r}, lease {args.lease:g} s, files in {base}", flush=True)
    started = time.monotonic()
    results = run_trials(base, args.trials, config, seed=args.seed, services=services,
                         echo=lambda result: print(result.describe(), flush=True))
    elapsed = time.monotonic() - started

    print()
    print(markdown_table(COLUMNS, summary_rows(results)))
    inbound = sum(r.inbound for r in results)
    alerts = sum(r.alerts for r in results)
    window_sends = sum(len(r.kill.in_window) for r in results)
    apologies = sum(r.sources.get("apology", 0) + r.sources.get("knowledge", 0) for r in results
                    if r.service == "model-api")
    model_answers = sum(r.sources.get("model", 0) for r in results)
    refused = sum(len(r.refused) for r in results)
    outstanding = sum(len(r.kill.reports_outstanding) for r in results)
    print(f"\n{inbound} messages, {alerts} alerts, {sum(r.holding_notes for r in results)} holding notes, "
          f"{refused} messages answered as refused; {outstanding} alert reports owed by a killed backend; "
          f"{window_sends} sends caught in a window at the kill; {model_answers} model answers, "
          f"{apologies} fallback answers (a guide or the apology) in model-api trials (an answer, not a loss); "
          f"{elapsed:.0f} s in all")
    bad = [r for r in results if not r.ok()]
    for result in bad:
        print(f"\nFAILED trial {result.index}:\n{result.describe()}\n{result.logs[-3000:]}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
