"""Offer latency on real Asterisk: our controller against a plain app_queue, in the same run.

Run: ``HOTLINE_TEST_PORT_BASE=35000 python -m benchmarks.offer_latency_bench`` (about 10
minutes on 2 cores; the port base defaults to 35000 so a benchmark never collides with the
integration tests on 25000). It starts a whole test hotline with the integration harness
(tests/integration/harness.py: real Asterisk 22, Redis, the controller process, SIPp phones
for all four roster agents, ring 300 ms; test queue defaults: wrap-up 3 s) in a temporary
folder, measures, and stops everything (also on Ctrl-C or an error).

What is measured, in short: the time from the moment a call could be offered to the moment
the agent's INVITE leaves Asterisk (its packet on the loopback wire, kernel timestamp), with
each system's own record of the start on the same clock, in three scenarios: 1 a call to an
idle agent (the systems take turns in ``--rounds``), 2 an agent logs in / is unpaused while a
call waits, 3 an agent's wrap-up ends while calls wait. The precise description is in
benchmarks/offer/__init__.py (both ends) and benchmarks/offer/scenarios.py (the scenarios);
the parts live in benchmarks/offer/.

``--keep`` keeps the temporary folder (controller and Asterisk logs, the database) and
writes every AMI event the benchmark saw to ``ami-events.jsonl`` there, and the captured
INVITE and AGI Dial times to ``wire.json``.
"""
from __future__ import annotations

import argparse
import os
import platform
import time

# The harness derives every port and the instance name from this at import time.
os.environ.setdefault("HOTLINE_TEST_PORT_BASE", "35000")

from benchmarks.offer.report import print_table  # noqa: E402
from benchmarks.offer.run import run  # noqa: E402
from tests.integration.harness import BASE  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (the README and `make bench-offer` use these flags)."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--calls", type=int, default=100, help="calls in the idle-agent scenario, per system")
    ap.add_argument("--rounds", type=int, default=4,
                    help="the idle-agent scenario alternates the systems in this many rounds")
    ap.add_argument("--trials", type=int, default=10, help="trials in the agent-freed scenario, per system")
    ap.add_argument("--wrapup-seconds", type=float, default=25.0,
                    help="how long the wrap-up scenario places calls, per system (0 = skip)")
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, database)")
    return ap.parse_args(argv)


def main() -> None:
    """Run the benchmark and print its table and the total run time."""
    args = parse_args()
    began = time.monotonic()
    res = run(args)
    print_table(res, platform.machine(), os.cpu_count(), BASE)
    print(f"total run time {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
