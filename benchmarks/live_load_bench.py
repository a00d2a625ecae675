"""Live load on real Asterisk: SIPp citizens at rising rates through the IVR and the ACD to
SIPp call takers, ours against a plain app_queue in the same run.

Run: ``make bench-load`` (``HOTLINE_TEST_PORT_BASE=36000 .venv/bin/python -m
benchmarks.live_load_bench``; about 10 minutes on 2 cores). It starts a test hotline with the
integration harness (real Asterisk 22, the controller, a Redis of its own, a SQLite
database) in a temporary folder, with a pool of call takers on one SIPp phone, runs each
rate through both systems, prints the table and writes the results file
(``var/bench-load-<date>.json``, or ``--out``), and stops everything (also on Ctrl-C or an
error). What is measured, and how, is in benchmarks/live_load/__init__.py.
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

# The harness derives every port and the instance name from this at import time.
os.environ.setdefault("HOTLINE_TEST_PORT_BASE", "36000")

from benchmarks.live_load.report import print_report, write_results  # noqa: E402
from benchmarks.live_load.run import run  # noqa: E402
from hotline.settings import PROJECT_ROOT  # noqa: E402
from tests.integration.harness import BASE  # noqa: E402


def rates(text: str) -> list[float]:
    values = [float(v) for v in text.split(",") if v.strip()]
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError("calls per second, comma-separated, each above 0")
    return values


def systems(text: str) -> list[str]:
    values = [v.strip() for v in text.split(",") if v.strip()]
    if not values or set(values) - {"ours", "app_queue"}:
        raise argparse.ArgumentTypeError("ours, app_queue or both, comma-separated")
    return values


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (the README and `make bench-load` use these flags)."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--rates", type=rates, default=[5.0, 10.0, 20.0, 30.0, 40.0],
                    help="calls per second, comma-separated (default 5,10,20,30,40)")
    ap.add_argument("--systems", type=systems, default=["ours", "app_queue"],
                    help="which systems to run (default both: ours,app_queue)")
    ap.add_argument("--seconds", type=float, default=20.0, help="seconds of calls per rate and system")
    ap.add_argument("--talk", type=float, default=8.0, help="seconds a call taker talks, then hangs up")
    ap.add_argument("--patience", type=float, default=30.0,
                    help="seconds a citizen waits in line and still talks in full; they hang up "
                         "patience + talk + 2 s after entering the line")
    ap.add_argument("--agents", type=int, default=0, help="call takers (default: enough for the highest rate)")
    ap.add_argument("--redis-max-connections", type=int, default=0,
                    help="the controller's Redis connection pool size, set in its REDIS_URL "
                         "(default: the client's own, as shipped)")
    ap.add_argument("--out", default="", help="results file (default var/bench-load-<date>.json)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, database)")
    return ap.parse_args(argv)


def main() -> None:
    args = parse_args()
    began = time.monotonic()
    results, params = run(args)
    title = (f"Live load on real Asterisk ({platform.machine()}, {os.cpu_count()} cores, port base {BASE}): "
             f"citizens dial 12349 (ours: the IVR's {params['greeting']:.1f} s greeting, then the ACD; app_queue: "
             f"straight into hotline-fallback), {params['agents']} call takers on one SIPp phone, RTP both ways, "
             f"every call recorded; talk {args.talk:g} s, wrap-up {params['wrapup']} s, patience {args.patience:g} s, "
             f"{args.seconds:g} s of calls per rate and system")
    print_report(results, title)
    out = Path(args.out) if args.out else PROJECT_ROOT / "var" / f"bench-load-{time.strftime('%Y%m%d-%H%M%S')}.json"
    write_results(out, results, {**params, "port_base": BASE, "cores": os.cpu_count()}, title)
    print(f"results written to {out}")
    print(f"total run time {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
