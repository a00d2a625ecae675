"""The ``hotline`` command: bring the hotline up and down, place demo calls, inspect state.

    hotline up          start Redis (if needed), Asterisk, the controller and demo agents
    hotline down        stop what ``up`` started
    hotline status      processes, agents and the latest calls
    hotline call        place a demo citizen call with SIPp and print its record
    hotline controller  run the controller in the foreground (what ``up`` daemonises)
    hotline prompts     generate placeholder IVR prompts for every language
    hotline render      render the Asterisk configuration only
    hotline reload      validate edited roster/queues/flows, apply them to Asterisk and the controller
    hotline agent       log an agent in or out, pause or unpause them
    hotline notice      switch the IVR's emergency notice on or off (no restart)
    hotline user        accounts of the HTTP API: add, list, disable, passwd
    hotline recordings  purge recordings per the retention policy (--dry-run), or compress them once
    hotline plan        staffing: agents per interval of a forecast for 95 % in 15 s (Erlang A)
    hotline simulate    run a scenario through the live routing code on a virtual clock
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import signal
import sys
import time
from typing import Any, Callable

from hotline.asterisk import process as asterisk_process
from hotline.live.keys import LiveKeys
from hotline.ops import daemons as services
from hotline.settings import Settings, from_env

log = logging.getLogger("hotline")


def _settings() -> Settings:
    settings = from_env()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    return settings


def prepare(settings: Settings) -> tuple[dict[str, Any], list[str]]:
    """Validate the configuration, render Asterisk's, and install the prompts; return the
    roster and the dialled numbers."""
    import ivr
    from hotline.config import load_config

    config = load_config(settings)
    roster, flows, numbers = config.roster, config.flows, config.dialled_numbers
    asterisk_process.configure(settings, roster.values(), numbers, config.directory.numbers, config.supervisor_phones)
    sounds = settings.config_dir / "ivr" / "sounds"
    ivr.prompts.generate_placeholders(flows, sounds)
    target = settings.instance_dir / "sounds"
    shutil.copytree(sounds, target, dirs_exist_ok=True)
    return roster, numbers


class UpFailed(RuntimeError):
    """A step of ``hotline up`` failed; the message names the step and the log to read."""


def cmd_up(args: argparse.Namespace) -> int:
    """Bring the instance up. Safe to run again: what already runs is reloaded, not restarted
    (calls in progress go on); a step that fails stops what this run started, so a failed
    ``up`` leaves nothing half-started behind, and the message names the log to read."""
    settings = _settings()
    started: list[Callable[[], object]] = []  # undo steps, newest last
    try:
        redis_url = _up_redis(settings, started)
        settings = settings.with_overrides(redis_url=redis_url)
        roster, numbers = _up_config(settings)
        _up_asterisk(settings, started)
        _up_controller(settings, started)
        phones = [] if args.no_agents else _up_demo_phones(settings, roster.values(), started)
    except UpFailed as exc:
        print(f"hotline up failed: {exc}", file=sys.stderr)
        for undo in reversed(started):
            undo()
        if started:
            print(f"stopped again what this run had started ({len(started)} process(es))", file=sys.stderr)
        return 1
    print(f"""hotline is up (instance {settings.instance})
  dial:        {', '.join(numbers)} at sip:12345@127.0.0.1:{settings.sip_port} (trunk: from {settings.trunk_match})
  agents:      {len(roster)} in agents/roster.yaml; demo SIPp phones for {', '.join(phones) or 'none'}
  AMI:         127.0.0.1:{settings.ami_port} user {settings.ami_user} (secret in var/secrets.env)
  FastAGI:     {settings.agi_host}:{settings.agi_port}
  Redis:       {redis_url}
  database:    {settings.database_url}
  logs:        {settings.var_dir}/{settings.instance}-*.log
  demo call:   make call   (or: .venv/bin/hotline call --digits 1)
  status:      .venv/bin/hotline status""")
    return 0


def _log_of(settings: Settings, name: str) -> str:
    return f"{settings.var_dir}/{settings.instance}-{name}.log"


def _up_redis(settings: Settings, started: list[Callable[[], object]]) -> str:
    was_ours = services.own_redis_running(settings)
    try:
        url = services.ensure_redis(settings)
    except RuntimeError as exc:
        raise UpFailed(f"Redis: {exc}") from exc
    if not was_ours and services.own_redis_running(settings):
        started.append(lambda: services.stop_own_redis(settings))
    return url


def _up_config(settings: Settings) -> tuple[dict[str, Any], list[str]]:
    try:
        return prepare(settings)
    except (ValueError, OSError, asterisk_process.AsteriskError) as exc:
        raise UpFailed(f"configuration: {exc}") from exc


def _up_asterisk(settings: Settings, started: list[Callable[[], object]]) -> None:
    try:
        if asterisk_process.is_running(settings):
            asterisk_process.cli(settings, "core reload")
            return
        started.append(lambda: asterisk_process.stop(settings))
        asterisk_process.start(settings)
    except asterisk_process.AsteriskError as exc:
        raise UpFailed(f"Asterisk: {exc} (log: {_log_of(settings, 'asterisk')})") from exc


def _up_controller(settings: Settings, started: list[Callable[[], object]]) -> None:
    """Start the controller, or have a running one reload its configuration (SIGHUP), and
    wait until it routes: FastAGI port open and the router's lead taken in Redis."""
    if services.daemon_alive(settings, "controller"):
        services.signal_daemon(settings, "controller", signal.SIGHUP)
    else:
        started.append(lambda: services.stop_daemon(settings, "controller"))
        services.start_daemon(settings, "controller", services.controller_argv(),
                              env=services.settings_env(settings))
    log = _log_of(settings, "controller")
    deadline = time.monotonic() + 30
    while not (services.port_open(settings.agi_port) and services.wait_leader(settings, 0.2)):
        if not services.daemon_alive(settings, "controller"):
            raise UpFailed(f"the controller exited at start (log: {log})")
        if time.monotonic() > deadline:
            raise UpFailed(f"the controller did not open FastAGI port {settings.agi_port} and take the "
                           f"router's lead in Redis within 30 s (log: {log})")


def _up_demo_phones(settings: Settings, roster: Any, started: list[Callable[[], object]]) -> list[str]:
    """One SIPp phone per roster agent whose fixed contact is on this machine (a running one
    is kept); a phone that exits at once (its port taken, say) fails ``up``."""
    from hotline.ops.sipp import agent_scenario, phone_args, sipp_binary

    scenario_dir = settings.var_dir / "demo-agents"
    scenario_dir.mkdir(parents=True, exist_ok=True)
    media_base = settings.rtp_end + 1001  # beside Asterisk's RTP range, 10 ports a phone
    phones, fresh = [], []
    for i, agent in enumerate(a for a in roster if a.contact and "@127.0.0.1:" in a.contact):
        name = f"agent-{agent.agent_id}"
        phones.append(agent.agent_id)
        if services.daemon_alive(settings, name):
            continue
        xml = scenario_dir / f"{name}.xml"
        xml.write_text(agent_scenario(answer=True, ring_ms=800))
        port = int(agent.contact.rsplit(":", 1)[1])
        started.append(lambda name=name: services.stop_daemon(settings, name))
        services.start_daemon(settings, name, [sipp_binary(), "-sf", str(xml),
                                               *phone_args(port, media_base + 10 * i), "-nostdin"])
        fresh.append(name)
    time.sleep(0.5 if fresh else 0)  # SIPp exits at once when it cannot bind its port
    dead = [n for n in fresh if not services.daemon_alive(settings, n)]
    if dead:
        raise UpFailed(f"demo phone(s) {', '.join(dead)} exited at start (log: {_log_of(settings, dead[0])})")
    return phones


def cmd_down(_args: argparse.Namespace) -> int:
    """Stop everything ``up`` started for this instance: demo phones, controllers, Asterisk,
    and the Redis server ``up`` started itself (a Redis that was already running, shared with
    other instances, is left alone)."""
    settings = _settings()
    stopped = []
    for pid in sorted(settings.var_dir.joinpath("run").glob(f"{settings.instance}-agent-*.pid")):
        if services.stop_daemon(settings, pid.stem[len(settings.instance) + 1:]):
            stopped.append(pid.stem[len(settings.instance) + 1:])
    for name in ("controller2", "controller"):
        if services.stop_daemon(settings, name):
            stopped.append(name)
    if asterisk_process.is_running(settings) or services.daemon_alive(settings, "asterisk"):
        asterisk_process.stop(settings)
        stopped.append("asterisk")
    if services.stop_own_redis(settings):
        stopped.append("redis")
    print(f"hotline is down: stopped {', '.join(stopped) or 'nothing (nothing ran)'}"
          " (a Redis or PostgreSQL we did not start is left running)")
    return 0


def cmd_controller(args: argparse.Namespace) -> int:
    import faulthandler
    import signal

    from hotline.bootstrap import serve

    faulthandler.register(signal.SIGUSR1)  # kill -USR1 <pid> dumps every thread's stack to the log
    from hotline.logs import configure, log_format_from_env

    # every line carries the call id of the call being handled (HOTLINE_LOG_FORMAT=json for one JSON object a line)
    configure(log_format_from_env(os.environ), logging.DEBUG if args.verbose else logging.INFO)
    logging.getLogger("panoramisk").setLevel(logging.WARNING)
    settings = _settings()
    if not settings.redis_url:
        settings = settings.with_overrides(redis_url=services.ensure_redis(settings))
    import uvloop  # libuv's event loop: a third less per-wake-up overhead on the offer path

    uvloop.run(serve(settings))
    return 0


def cmd_call(args: argparse.Namespace) -> int:
    from hotline.ops.sipp import start_caller
    from hotline.store.calls import CallStore, make_engine

    settings = _settings()
    caller = args.caller or f"1390000{int(time.time()) % 10000:04d}"
    peer = start_caller(settings.sip_port, caller, dnis=args.dnis, digits=args.digits, hold_ms=args.hold * 1000,
                        media_port=settings.rtp_end + 901)  # beside Asterisk's range, clear of the demo phones
    code = peer.wait(timeout=args.hold + 90)
    print(f"SIPp caller {caller} -> {args.dnis} digits {args.digits!r}: exit {code}")
    if code != 0:
        print(peer.errors() or peer.output())
    store = CallStore(make_engine(settings.database_url))
    for _ in range(50):
        rows = [r for r in store.recent(20) if r["caller"] == caller]
        if rows:
            row = rows[0]
            wait = f"{row['wait_seconds']:.2f} s" if row["wait_seconds"] is not None else "-"
            print(f"call {row['call_id']}: {row['outcome']} by agent {row['agent_id'] or '-'}, "
                  f"language {row['language'] or '-'}, queue {row['queue'] or '-'}, wait {wait}")
            if args.json:
                print(json.dumps(row, default=str, indent=2, ensure_ascii=False))
            return code
        time.sleep(0.2)
    print("no call record yet (is the controller up? see var/*-controller.log)")
    return 1


def cmd_status(_args: argparse.Namespace) -> int:
    import redis

    from hotline.store.calls import CallStore, make_engine

    settings = _settings()
    print("asterisk:  ", "running" if asterisk_process.is_running(settings) else "stopped")
    print("controller:", "running" if services.daemon_alive(settings, "controller") else "stopped")
    r = redis.Redis.from_url(settings.redis_url or services.DEFAULT_REDIS_URL, decode_responses=True)
    keys = LiveKeys.for_instance(settings.instance)
    for agent_id in sorted(r.smembers(keys.agents)):
        h = r.hgetall(keys.agent(agent_id))
        print(f"  agent {agent_id}: {h.get('state')} calls={h.get('calls_taken')} misses={h.get('misses')}")
    print("waiting calls:", r.scard(keys.waiting))
    for row in CallStore(make_engine(settings.database_url)).recent(10):
        print(f"  {row['arrived_at']:%H:%M:%S} {row['caller']:>14} {row['outcome']:<10} agent={row['agent_id'] or '-':<5}"
              f" wait={'-' if row['wait_seconds'] is None else format(row['wait_seconds'], '.2f')}")
    return 0


def cmd_prompts(_args: argparse.Namespace) -> int:
    settings = _settings()
    prepare(settings)
    print(f"prompts ready in {settings.config_dir / 'ivr' / 'sounds'}")
    return 0


def cmd_render(_args: argparse.Namespace) -> int:
    settings = _settings()
    prepare(settings)
    print(f"rendered into {settings.instance_dir / 'etc'}")
    return 0


def cmd_reload(_args: argparse.Namespace) -> int:
    settings = _settings()
    prepare(settings)  # validates every file first: an error stops here, nothing changes
    if asterisk_process.is_running(settings):
        asterisk_process.cli(settings, "core reload")
    reloaded = [name for name in ("controller", "controller2")
                if services.signal_daemon(settings, name, signal.SIGHUP)]
    print(f"configuration valid; Asterisk reloaded; signalled {', '.join(reloaded) or 'no controller'}")
    return 0


def _live_call(coro_factory: Any) -> Any:
    from redis.asyncio import Redis

    from hotline.live.agent_service import AgentService
    from hotline.live.redis_state import LiveState

    settings = _settings()

    changes: list[Any] = []

    async def run() -> Any:
        client = Redis.from_url(settings.redis_url or services.DEFAULT_REDIS_URL, decode_responses=True)
        try:
            live = LiveState(client, LiveKeys.for_instance(settings.instance))
            service = AgentService(live, time.time, on_change=lambda record, at: changes.append((record, at)))
            return await coro_factory(live, service)
        finally:
            await client.aclose()

    result = asyncio.run(run())
    if changes:
        _log_states(settings, changes)
    return result


def _log_states(settings: Any, changes: list[Any]) -> None:
    """Write an operator's agent changes to the state log (as the controller does for its own)."""
    from sqlalchemy.exc import SQLAlchemyError

    from hotline.store.agent_states import AgentStateStore, StateChange
    from hotline.store.calls import make_engine

    engine = make_engine(settings.database_url)
    try:
        AgentStateStore(engine).append(StateChange.of(record, at) for record, at in changes)
    except (SQLAlchemyError, OSError) as exc:
        print(f"warning: the agent state log was not written (database: {exc})", file=sys.stderr)
    finally:
        engine.dispose()


def cmd_sip_password(args: argparse.Namespace) -> int:
    """Set an agent's own SIP password (agents/sip_credentials.py) and apply it: the password
    from HOTLINE_NEW_PASSWORD, else a generated one, printed this once."""
    import os

    from agents import sip_credentials
    from hotline.config import load_config

    settings = _settings()
    config = load_config(settings)
    if args.id not in config.roster and args.id not in {p.agent_id for p in config.supervisor_phones}:
        print(f"agent {args.id}: not in the roster nor a supervisor's phone (agents/supervisors.yaml)", file=sys.stderr)
        return 1
    given = os.environ.get("HOTLINE_NEW_PASSWORD", "")
    password = given or sip_credentials.new_password()
    try:
        sip_credentials.store(settings.var_dir / sip_credentials.FILE_NAME, args.id, password)
    except sip_credentials.CredentialError as exc:
        print(f"agent {args.id}: {exc}; nothing was changed", file=sys.stderr)
        return 1
    prepare(settings)
    if asterisk_process.is_running(settings):
        asterisk_process.cli(settings, "module reload res_pjsip.so")
    print(f"agent {args.id}: SIP password set (user {args.id}, realm {sip_credentials.REALM})"
          + ("" if given else f"; password: {password}"))
    return 0


def cmd_agent(args: argparse.Namespace) -> int:
    if args.action == "sip-password":
        return cmd_sip_password(args)
    actions = {
        "login": lambda live, desk: desk.log_in(args.id, paused=args.reason or None),
        "logout": lambda live, desk: (desk.force_log_out(args.id, args.reason or "forced by an operator")
                                      if args.force else desk.log_out(args.id)),
        "pause": lambda live, desk: desk.pause(args.id, args.reason or "break"),
        "unpause": lambda live, desk: desk.unpause(args.id),
    }
    record = _live_call(actions[args.action])
    if record is None:
        print(f"agent {args.id}: {args.action} not possible now (see the controller log)", file=sys.stderr)
        return 1
    print(f"agent {record.agent_id}: {record.state.value}" + (f" ({record.pause_reason})" if record.pause_reason else ""))
    return 0


def cmd_notice(args: argparse.Namespace) -> int:
    value = None if args.name == "off" else args.name
    _live_call(lambda live, desk: live.set_flag("notice", value))
    print(f"emergency notice: {value or 'off'} (new calls hear it from now on)")
    return 0


def _new_password(name: str) -> str | None:
    """The new password: from HOTLINE_NEW_PASSWORD, else typed twice on a terminal; None
    (after saying why) when there is neither or the two differ. Never printed."""
    import getpass
    import os

    from hotline.api.passwords import WeakPassword, check_strength

    password = os.environ.get("HOTLINE_NEW_PASSWORD", "")
    if not password:
        if not sys.stdin.isatty():
            print("set HOTLINE_NEW_PASSWORD, or run this in a terminal to type the password", file=sys.stderr)
            return None
        password = getpass.getpass(f"new password for {name}: ")
        if getpass.getpass("again: ") != password:
            print("the two passwords differ; nothing was changed", file=sys.stderr)
            return None
    try:
        check_strength(password)
    except WeakPassword as exc:
        print(f"{exc}; nothing was changed", file=sys.stderr)
        return None
    return password


def cmd_user(args: argparse.Namespace) -> int:
    """Accounts of the HTTP API, in the instance's database (migrated first)."""
    from agents.roster import load_roster
    from hotline.api.passwords import Passwords
    from hotline.api.ports import DeskError
    from hotline.api.users import UserStore, check_new_user
    from hotline.store.calls import make_engine, migrate
    from outbound.agencies import load_directory

    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        store = UserStore(engine)
        if args.action == "list":
            for user in store.users():
                print(f"{user.username:<20} {user.role:<11} {user.agent_id or user.agency_id or '-':<8} "
                      f"{'disabled' if user.disabled else 'active'}")
            return 0
        if args.action == "disable":
            if not store.set_disabled(args.name, True):
                print(f"no user {args.name}", file=sys.stderr)
                return 1
            print(f"user {args.name} disabled (their sessions ended)")
            return 0
        if args.action == "add":
            roster = {a.agent_id for a in load_roster(settings.config_dir / "agents" / "roster.yaml")}
            agencies = load_directory(settings.config_dir / "outbound" / "agencies.yaml").ids if args.agency else set()
            check_new_user(args.name, args.role, args.agent, roster, args.agency, agencies)  # before the password
        elif store.user(args.name) is None:
            print(f"no user {args.name}", file=sys.stderr)
            return 1
        password = _new_password(args.name)
        if password is None:
            return 2
        password_hash = Passwords().hash(password)
        if args.action == "add":
            user = store.add_user(args.name, args.role, password_hash, agent_id=args.agent, roster=roster,
                                  now=time.time(), agency_id=args.agency, agencies=agencies)
            print(f"user {user.username} added: {user.role}" + (f" of agent {user.agent_id}" if user.agent_id else "")
                  + (f" of agency {user.agency_id}" if user.agency_id else ""))
        else:
            store.set_password(args.name, password_hash)
            print(f"password of {args.name} changed (their sessions ended)")
        return 0
    except DeskError as exc:
        print(f"hotline user {args.action}: {exc.message}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()


def cmd_recordings(args: argparse.Namespace) -> int:
    """``purge`` what the retention policy lets go (``--dry-run``: list it only); ``compress``:
    one pass of the recordings janitor (index and compress the finished recordings)."""
    from recordings.commands import run_command

    return run_command(_settings(), args.action, dry_run=getattr(args, "dry_run", False))


def cmd_report(args: argparse.Namespace) -> int:
    """The daily (or period) report, or the per-agent / per-agency table, of the database
    (hotline/reports/command.py)."""
    from hotline.reports.command import run_report

    return run_report(_settings(), args)


def cmd_plan(args: argparse.Namespace) -> int:
    """Agents per interval of a forecast (planning/staffing.py)."""
    from planning.staffing import run

    return run(args)


def cmd_simulate(args: argparse.Namespace) -> int:
    """A scenario through the live routing code on a virtual clock (simulator/cli.py)."""
    from simulator.cli import run

    return run(args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hotline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the hotline")
    up.add_argument("--no-agents", action="store_true", help="do not start demo SIPp agents")
    up.set_defaults(func=cmd_up)
    sub.add_parser("down", help="stop the hotline").set_defaults(func=cmd_down)
    sub.add_parser("status", help="show processes, agents, calls").set_defaults(func=cmd_status)
    call = sub.add_parser("call", help="place a demo call with SIPp")
    call.add_argument("--caller", default="", help="citizen number (default: a fresh one)")
    call.add_argument("--dnis", default="12345", help="dialled number")
    call.add_argument("--digits", default="", help="DTMF to send after the greeting starts")
    call.add_argument("--hold", type=int, default=12,
                      help="seconds to stay on the line, from the IVR's answer (greeting and menus included)")
    call.add_argument("--json", action="store_true", help="print the whole stored record")
    call.set_defaults(func=cmd_call)
    ctl = sub.add_parser("controller", help="run the controller in the foreground")
    ctl.add_argument("-v", "--verbose", action="store_true")
    ctl.set_defaults(func=cmd_controller)
    sub.add_parser("prompts", help="generate IVR prompts").set_defaults(func=cmd_prompts)
    sub.add_parser("render", help="render Asterisk configuration").set_defaults(func=cmd_render)
    sub.add_parser("reload", help="apply edited configuration files").set_defaults(func=cmd_reload)
    agent = sub.add_parser("agent", help="log in/out, pause/unpause an agent; set their softphone's SIP password")
    agent.add_argument("action", choices=["login", "logout", "pause", "unpause", "sip-password"])
    agent.add_argument("id", help="agent id from agents/roster.yaml")
    agent.add_argument("--reason", default="", help="pause reason (login --reason X logs in paused); "
                                                    "with logout --force, why (logged)")
    agent.add_argument("--force", action="store_true",
                       help="logout from any state, on_call included (a call known to be gone)")
    agent.set_defaults(func=cmd_agent)
    notice = sub.add_parser("notice", help="emergency notice: a name such as flood_warning, or off")
    notice.add_argument("name")
    notice.set_defaults(func=cmd_notice)
    user = sub.add_parser("user", help="accounts of the HTTP API: add, list, disable, passwd")
    user_sub = user.add_subparsers(dest="action", required=True)
    add = user_sub.add_parser("add", help="add an account (password from HOTLINE_NEW_PASSWORD or typed twice)")
    add.add_argument("name", help="user name: 2-32 lower-case letters, digits, . _ -")
    add.add_argument("--role", required=True, choices=["agent", "supervisor", "admin", "agency"])
    add.add_argument("--agent", default=None, help="an agent's seat (agent id of agents/roster.yaml)")
    add.add_argument("--agency", default=None, help="an agency user's agency (id of outbound/agencies.yaml)")
    user_sub.add_parser("list", help="list the accounts")
    user_sub.add_parser("disable", help="disable an account and end its sessions").add_argument("name")
    user_sub.add_parser("passwd", help="set a new password and end the sessions").add_argument("name")
    user.set_defaults(func=cmd_user)
    rec = sub.add_parser("recordings", help="call recordings: purge per the retention policy, compress one pass")
    rec_sub = rec.add_subparsers(dest="action", required=True)
    rec_sub.add_parser("purge", help="remove the recordings the retention policy lets go (HOTLINE_RECORDING_DAYS)"
                       ).add_argument("--dry-run", action="store_true", help="list what would be removed, change nothing")
    rec_sub.add_parser("compress", help="index and compress the finished recordings, once")
    rec.set_defaults(func=cmd_recordings)
    report = sub.add_parser("report", help="KPIs and reports: daily (or --from/--to), agents, agencies")
    report.add_argument("kind", choices=["daily", "agents", "agencies"])
    report.add_argument("--date", default="", help="the local day (default: today)")
    report.add_argument("--from", dest="start", default="", help="period start, YYYY-MM-DD[THH:MM] (local)")
    report.add_argument("--to", dest="end", default="", help="period end, exclusive (default: a day after --from)")
    report.add_argument("--compare", choices=["previous", "year"], default="previous",
                        help="against the period just before (default) or the same days a year before")
    report.add_argument("--format", choices=["text", "csv", "json"], default="text")
    report.add_argument("--out", default="", help="write the report (and charts) into this folder")
    report.add_argument("--charts", action="store_true", help="with --out: PNG charts of the daily report")
    report.set_defaults(func=cmd_report)
    plan = sub.add_parser("plan", help="staffing: agents per interval of a forecast (Erlang A)")
    plan_sub = plan.add_subparsers(dest="what", required=True)
    staffing = plan_sub.add_parser("staffing", help="agents per interval for the target, and the staff to schedule")
    staffing.add_argument("forecast", help="CSV: start,calls[,aht][,group columns] (15-minute or hourly rows)")
    staffing.add_argument("--aht", type=float, default=240.0, help="seconds of talk and wrap-up (a row's aht wins)")
    staffing.add_argument("--patience", type=float, default=60.0, help="mean patience in s (0: Erlang C, none hang up)")
    staffing.add_argument("--target-sl", type=float, default=0.95, help="share of answered calls within the time")
    staffing.add_argument("--target-seconds", type=float, default=15.0)
    staffing.add_argument("--target-connect", type=float, default=0.95, help="answered / offered, at least")
    staffing.add_argument("--shrinkage", type=float, default=0.0, help="share of paid time off the phones (0.3)")
    staffing.add_argument("--format", choices=["text", "csv"], default="text")
    plan.set_defaults(func=cmd_plan)
    simulate = sub.add_parser("simulate", help="run a scenario through the live routing code (virtual clock)")
    simulate.add_argument("scenario", help="scenario YAML (simulator/scenarios/)")
    simulate.add_argument("--seed", type=int, default=1)
    simulate.add_argument("--days", type=int, default=1)
    simulate.add_argument("--out", default="", help="write every record and its events as JSON lines")
    simulate.add_argument("--report", action="store_true", help="print the summary and the daily KPI report")
    simulate.add_argument("--replay", default="", help="recorded calls (JSON lines) to answer with this scenario")
    simulate.add_argument("--replay-db", action="store_true",
                          help="answer a day of calls stored in the database with this scenario")
    simulate.add_argument("--day", default="", help="with --replay-db: the local day, YYYY-MM-DD (default: yesterday)")
    simulate.add_argument("--db", default="", help="with --replay-db: database URL (default: the configured one)")
    simulate.set_defaults(func=cmd_simulate)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ValueError as exc:  # a configuration file (or a value in the environment) is wrong
        print(f"hotline {args.command}: {exc}\nnothing was changed", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
