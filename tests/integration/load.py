"""Steady load on a real hotline, for fault tests: many agents, a stream of citizens.

A pool of extra agents (``POOL``) is added to the test roster by a real reload; all their
contacts point at ONE SIPp phone, which answers any number of calls at once and logs every
SIP message. Each citizen calls from its own number (a SIPp injection file), so the pool's
log tells, citizen by citizen, how many conversations with an agent really took place: the
proof that nobody was served twice, independent of the controller's own view.
"""
from __future__ import annotations

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timezone
from typing import Any, Callable

import yaml

from hotline.ops.sipp import SippPeer, start_agent, start_caller
from tests.integration.harness import BASE, Hotline

POOL = [f"30{n:02d}" for n in range(1, 11)]  # ten generalists for the main line
POOL_PORT = BASE + 1100
NO_MENU = "12349"  # greeting, then straight to the main queue


def add_pool(h: Hotline) -> str:
    """The pool in the roster (logged out), applied by a reload; returns the old roster."""
    path = h.settings.config_dir / "agents" / "roster.yaml"
    original = path.read_text()
    roster = yaml.safe_load(original)
    roster["agents"] += [{"id": a, "name": f"Pool {a}", "languages": ["zh"], "skills": {"traffic": 1},
                          "contact": f"sip:{a}@127.0.0.1:{POOL_PORT}", "login": False} for a in POOL]
    path.write_text(yaml.safe_dump(roster, allow_unicode=True))
    h.reload()
    return original


def restore_roster(h: Hotline, original: str) -> None:
    (h.settings.config_dir / "agents" / "roster.yaml").write_text(original)
    h.reload()


def conversations(messages: str) -> Counter[str]:
    """Per citizen number (the INVITE's From): the dialogs answered with 200 OK, read from a
    SIPp peer's message log (an agent phone's: the agent legs it answered; a caller's: its
    calls the hotline answered)."""
    caller_of: dict[str, str] = {}
    answered: set[str] = set()
    for block in re.split(r"\n-{20,}[^\n]*\n", messages):
        call_id = re.search(r"^Call-ID:\s*(\S+)", block, re.M | re.I)
        if not call_id:
            continue
        if re.search(r"^INVITE sip:", block, re.M):
            sender = re.search(r"^From:[^\n]*?sip:([^@>;]+)@", block, re.M | re.I)
            if sender:
                caller_of[call_id.group(1)] = sender.group(1)
        elif re.search(r"^SIP/2.0 200 ", block, re.M) and re.search(r"^CSeq:\s*\d+ INVITE", block, re.M | re.I):
            answered.add(call_id.group(1))
    return Counter(caller_of[c] for c in answered if c in caller_of)


@dataclass
class LoadRun:
    """``calls`` citizens at ``rate`` a second to the no-menu number, each staying ``hold_ms``
    after the hotline answers (greeting, wait and talk included)."""

    h: Hotline
    tag: str  # two digits that make this run's numbers unique
    calls: int = 24
    rate: float = 1.0
    hold_ms: int = 12000
    callers: list[str] = field(default_factory=list)
    pool: SippPeer | None = None
    peer: SippPeer | None = None
    started: float = 0.0

    def __post_init__(self) -> None:
        self.callers = [f"136{self.tag}{n:06d}" for n in range(self.calls)]

    def start_pool(self, log_in: Callable[[str], Any]) -> None:
        self.pool = start_agent(POOL_PORT, BASE + 3900, ring_ms=300)
        self.h.peers.append(self.pool)
        for agent in POOL:
            log_in(agent)

    def start(self) -> None:
        self.started = time.time()
        self.peer = start_caller(self.h.settings.sip_port, "", dnis=NO_MENU, hold_ms=self.hold_ms,
                                 rate=self.rate, callers=self.callers, media_port=BASE + 3950)
        self.h.peers.append(self.peer)

    def wait(self) -> int:
        assert self.peer is not None
        return self.peer.wait(timeout=self.calls / self.rate + self.hold_ms / 1000 + 120)

    def answered_at_sip_level(self) -> set[str]:
        """The citizens whose INVITE the hotline answered (200 OK): only those can have a
        record; one refused at the door (Asterisk restarting answers 503) never reached us."""
        assert self.peer is not None
        return set(conversations(self.peer.messages()))

    def records(self, store: Any) -> list[dict[str, Any]]:
        mine = set(self.callers)
        since = self.started - 2
        return [r for r in store.recent(2000) if r["caller"] in mine
                and r["arrived_at"].replace(tzinfo=timezone.utc).timestamp() >= since]

    def check(self, store: Any, timeout: float = 60) -> dict[str, Any]:
        """Waits for one record per citizen and checks them against the pool's log:
        nobody twice in the records, nobody served by two agents, and a record says
        ``answered`` exactly when an agent leg was answered. Returns the figures."""
        assert self.peer is not None
        answered_by_asterisk = self.answered_at_sip_level()
        refused = sorted(set(self.callers) - answered_by_asterisk)  # e.g. 503 while Asterisk restarts

        def missing() -> list[str]:
            return sorted(answered_by_asterisk - {r["caller"] for r in self.records(store)})

        try:
            self.h.wait_for(lambda: not missing(), timeout, "")
        except AssertionError:
            gone = missing()
            legs = conversations(self.pool.messages()) if self.pool else Counter()
            log = self.h.controller_log(tail=400_000)
            raise AssertionError(
                f"records missing for {len(gone)} of {self.calls} citizens: "
                + "; ".join(f"{c} (agent legs answered: {legs.get(c, 0)})" for c in gone) + "\n"
                + "\n".join(line for line in log.splitlines() if any(c in line for c in gone))[-6000:]
                + "\n" + log[-3000:]) from None
        time.sleep(1)  # a doubled record would be written within this second too
        rows = self.records(store)
        per_caller = Counter(r["caller"] for r in rows)
        doubled = {c: n for c, n in per_caller.items() if n > 1}
        assert not doubled, f"records doubled: {doubled}"
        assert self.pool is not None
        legs = conversations(self.pool.messages())
        twice = {c: n for c, n in legs.items() if n > 1}
        assert not twice, f"citizens served by two agents: {twice}"
        answered = {r["caller"] for r in rows if r["outcome"] == "answered"}
        talked = {c for c in self.callers if legs.get(c)}
        assert answered == talked, (f"answered in the records but no agent leg: {sorted(answered - talked)}; "
                                    f"an agent leg but not answered in the records: "
                                    f"{[(r['caller'], r['outcome'], r['source']) for r in rows if r['caller'] in talked - answered]}")
        return {"calls": self.calls, "refused at SIP level": len(refused), "records": len(rows),
                "answered": len(answered),
                "by_source": dict(Counter(r["source"] for r in rows)),
                "outcomes": dict(Counter(r["outcome"] for r in rows)),
                "max_wait": max((r["wait_seconds"] or 0.0) for r in rows),
                "not answered (source, wait, arrival s)": [
                    (r["source"], round(r["wait_seconds"] or 0.0, 1),
                     round(r["arrived_at"].replace(tzinfo=timezone.utc).timestamp() - self.started, 1))
                    for r in rows if r["outcome"] != "answered"]}


def states(h: Hotline, redis: Any) -> dict[str, str]:
    return {a: (redis.hgetall(h.keys.agent(a)) or {}).get("state", "?") for a in POOL}


def all_usable(h: Hotline, redis: Any, timeout: float = 30) -> float:
    """Waits until no pool agent is held by a call or a ring; returns the seconds it took."""
    began = time.monotonic()
    h.wait_for(lambda: all(s in ("available", "wrap_up") for s in states(h, redis).values()), timeout,
               f"agents stuck: {states(h, redis)}\n" + h.controller_log(tail=4000))
    return time.monotonic() - began


def burst(h: Hotline, store: Any, tag: str, redis: Any = None) -> dict[str, Any]:
    """As many citizens at once as the pool has agents: every one answered by the controller,
    each by a different agent, which only holds when no agent is stuck."""
    began = time.monotonic()
    redis = h.redis if redis is None else redis
    def free(agent: str) -> bool:  # available, or a wrap-up that has run out (ended when next read)
        record = redis.hgetall(h.keys.agent(agent)) or {}
        return record.get("state") == "available" or (
            record.get("state") == "wrap_up" and float(record.get("wrap_until") or 0) <= time.time())

    h.wait_for(lambda: all(free(a) for a in POOL), 30,
               f"agents not free again: {states(h, redis)}\n" + h.controller_log(tail=4000))
    ready_after = time.monotonic() - began
    run = LoadRun(h, tag, calls=len(POOL), rate=20, hold_ms=8000)
    run.start()
    assert run.wait() == 0, run.peer.errors() if run.peer else ""
    rows = h.wait_for(lambda: len(run.records(store)) == len(POOL) and run.records(store), 30,
                      "burst records missing\n" + h.controller_log(tail=4000))
    assert {(r["source"], r["outcome"]) for r in rows} == {("controller", "answered")}, \
        (str([(r["caller"], r["source"], r["outcome"], r["agent_id"]) for r in rows]) + "\n"
         + "\n".join(line for line in h.controller_log(tail=60000).splitlines()
                     if line.startswith("20") and " INFO " not in line)[-6000:])
    agents = {r["agent_id"] for r in rows}
    assert agents == set(POOL), f"agents never offered a call after the fault: {set(POOL) - agents}"
    return {"all available after": ready_after, "burst_max_wait": max(r["wait_seconds"] or 0.0 for r in rows)}


def census(h: Hotline, redis: Any) -> Counter[str]:
    """What the saved calls were doing at this moment (talking, waiting, offered...)."""
    found: Counter[str] = Counter()
    for key in redis.scan_iter(match=h.keys.call_state("*")):
        state = redis.hget(key, "state")
        if state:
            found[state] += 1
    return found
