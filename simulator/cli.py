"""``hotline simulate scenario.yaml [--seed N] [--days 1] [--out records.jsonl] [--report]
[--replay day.jsonl | --replay-db [--day YYYY-MM-DD] [--db URL]]``.

Runs a scenario with the live routing code and prints how long it took; ``--out`` writes
every call's record and events as JSON lines in the store's spool shape, ``--report``
prints the summary by line and language and, when the ``kpi`` package is there, the
hotline's daily report of the simulated day (the same code that reports a real day).
``--replay`` takes its callers from recorded calls (that JSON-lines shape) instead of
drawing them, answers them with the scenario's roster and queues, and prints what really
happened beside what would have (``simulator.replay``). ``--replay-db`` takes the same
records straight from the calls table of a database: the local day ``--day`` (in the
scenario's time zone; default yesterday), from ``--db`` (default: the configured database,
``HOTLINE_DB_URL`` or the instance's SQLite file, as ``hotline report`` reads it). The
database code is imported only then, so a simulation needs no database library.
"""
from __future__ import annotations

import argparse
import sys
import time
from contextlib import ExitStack
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path

from calls.records import CallEvent, CallRecord
from simulator.engine import Simulation
from simulator.recorder import JsonLinesSink, read_jsonl
from simulator.replay import compare, replay_day
from simulator.report import by_key, kpi_report, render, summarize
from simulator.scenario import DAY, load_scenario


def day_bounds(day: date, tz: tzinfo) -> tuple[float, float]:
    """The local day ``day`` in ``tz`` as ``[start, end)`` epoch seconds."""
    start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
    return start.timestamp(), (start + timedelta(days=1)).timestamp()


def replay_day_of(text: str, tz: tzinfo, now: float) -> date:
    """The day ``--day`` names (YYYY-MM-DD), else yesterday in ``tz`` (the last whole day)."""
    if text:
        try:
            return date.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"--day {text!r}: not a date (YYYY-MM-DD)") from exc
    return datetime.fromtimestamp(now, tz).date() - timedelta(days=1)


def stored_calls(db_url: str, start: float, end: float) -> list[CallRecord]:
    """The records of the calls that arrived in ``[start, end)``, read from the database at
    ``db_url`` (empty: the configured one) with the store's own code."""
    from hotline.settings import from_env
    from hotline.store.calls import CallStore, make_engine, migrate

    engine = make_engine(db_url or from_env().database_url)
    try:
        migrate(engine)
        return CallStore(engine).records(start, end)
    finally:
        engine.dispose()


def recorded_calls(args: argparse.Namespace, tz: tzinfo) -> list[CallRecord] | None:
    """The calls ``--replay`` (a JSON-lines file) or ``--replay-db`` names; None for neither."""
    if getattr(args, "replay", "") and getattr(args, "replay_db", False):
        raise ValueError("--replay and --replay-db: one source of recorded calls, not both")
    if getattr(args, "replay", ""):
        return [r for r, _ in read_jsonl(Path(args.replay))]
    if getattr(args, "replay_db", False):
        day = replay_day_of(getattr(args, "day", ""), tz, time.time())
        records = stored_calls(getattr(args, "db", ""), *day_bounds(day, tz))
        if not records:
            raise ValueError(f"no call stored for {day.isoformat()} (local day, {tz}) in the database")
        print(f"{len(records)} calls of {day.isoformat()} read from the database")
        return records
    if getattr(args, "day", "") or getattr(args, "db", ""):
        raise ValueError("--day and --db go with --replay-db")
    return None


def run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    specs = None
    replayed = recorded_calls(args, scenario.tz)
    recorded = replayed or []
    if replayed is not None:
        scenario, specs = replay_day(scenario, recorded, args.seed)
    keep = args.report or bool(recorded)
    kept: list[tuple[CallRecord, list[CallEvent]]] = []
    with ExitStack() as stack:
        writer = JsonLinesSink(stack.enter_context(Path(args.out).open("w", encoding="utf-8"))) if args.out else None

        def sink(record: CallRecord, events: list[CallEvent]) -> None:
            if writer is not None:
                writer(record, events)
            if keep:
                kept.append((record, events))

        simulation = Simulation(scenario, seed=args.seed, days=args.days, sink=sink, keep_states=args.report,
                                specs=specs)
        started = time.perf_counter()
        stats = simulation.run()
        elapsed = time.perf_counter() - started
    print(f"{scenario.name}: {args.days} day(s), {stats.calls} calls, {len(simulation.seats)} agents, seed "
          f"{args.seed}: {stats.records} records in {elapsed:.2f} s ({stats.routing_steps} routing steps, "
          f"{stats.events} events)")
    if args.out:
        print(f"records written to {args.out}")
    if stats.unfinished:
        print(f"{stats.unfinished} call(s) still waiting when the last agent left (no record)", file=sys.stderr)
    if recorded:
        print(f"replay of {len(specs or [])} recorded calls with this scenario's roster and queues:")
        print(compare(recorded, (r for r, _ in kept)), end="")
    if args.report:
        records = [r for r, _ in kept]
        roster = simulation.roster
        print(render(summarize(records, roster), {"line": by_key(records, "queue", roster),
                                                  "language": by_key(records, "language", roster)}), end="")
        report = kpi_report(scenario.start, scenario.start + args.days * DAY, kept, simulation.states, scenario.tz)
        print(report if report is not None else "(the kpi package is not installed: no daily report)")
    return 0
