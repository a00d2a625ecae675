"""Record raw AMI transcripts from the real Asterisk 22, for the contract tests.

Run (once; it starts a whole test hotline, about a minute and a half on 2 cores)::

    python -m tests.contract.capture_ami [--raw DIR] [--out DIR]
    python -m tests.contract.capture_ami --from-raw DIR   # re-trim a saved capture, no Asterisk

It starts the integration harness's hotline (tests/integration/harness.py: real Asterisk,
Redis, the controller process, SIPp phones) on ports 38000+ (HOTLINE_TEST_PORT_BASE is
set before the harness is imported, so a run never meets the integration tests on 25000
or the benchmark on 35000), adds an AMI account of its own that reads every event class
(``read = all``, no event filter: the controller's account sees only what it uses), and
places the calls below one after the other. Every raw block Asterisk writes on that
session is kept; each scenario's blocks become one fixture file in
tests/contract/transcripts/ (see ``trim`` for what is left out to keep them small).

Scenarios (a fresh roster before each, test queue timing: ring 5 s):
- answered: 2002 answers, the citizen talks 3 s and hangs up; a CoreShowChannels taken
  while they talk is kept apart as coreshowchannels.ami.
- rona: 2001 never answers; the citizen leaves after the first ring-no-answer.
- caller_hangup_ringing: 2001 rings, the citizen hangs up before the ring timeout.
- callback_missed / callback: a province caller books a callback with nobody on shift;
  2001 is offered the callback leg and does not answer (OriginateResponse Failure), then
  2002 answers it and the citizen is dialled through the trunk and answers.
- login: what the session receives on login (the Login response, FullyBooted).
"""
from __future__ import annotations

import argparse
import itertools
import os
import secrets
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

if TYPE_CHECKING:
    from tests.integration.harness import Hotline

PORT_BASE = "38000"
TRANSCRIPTS = Path(__file__).resolve().parent / "transcripts"
SETTLE = 2.0  # seconds after a scenario's calls end, so their last events land in its window
SHOW_ID = "contract-show"  # ActionID of the CoreShowChannels taken during the answered call
EOL = "\r\n"

# Left out of the fixtures: chatter with no call-lifecycle fact in it that makes up most of
# the bytes: every dialplan step (Newexten), the test framework's notes (TestEvent: this
# Asterisk is built with it), RTCP reports, DTMF, music on hold, app_queue's member status,
# security notes, and VarSet and AGIExec (this instance sent none). Whole messages are
# dropped, never single fields.
NOISE = frozenset({
    "VarSet", "Newexten", "AGIExecStart", "AGIExecEnd", "RTCPSent", "RTCPReceived",
    "DTMFBegin", "DTMFEnd", "MusicOnHoldStart", "MusicOnHoldStop", "Cdr", "CEL",
    "ChannelTalkingStart", "ChannelTalkingStop", "QueueMemberStatus", "ExtensionStatus",
    "PresenceStatus", "ContactStatus", "PeerStatus", "Registry", "ChallengeSent",
    "SuccessfulAuth", "InvalidAccountID", "RequestBadFormat", "NewConnectedLine", "TestEvent",
})


def parse_block(block: str) -> dict[str, str]:
    """A block's headers (first value of each key), for the capture's own waiting."""
    fields: dict[str, str] = {}
    for line in block.split(EOL):
        key, sep, value = line.partition(": ")
        if sep:
            fields.setdefault(key, value)
    return fields


class AmiRecorder:
    """A plain AMI session in a thread that keeps every raw block it reads, in order."""

    def __init__(self, port: int, user: str, secret: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.settimeout(None)
        self.blocks: list[str] = []
        self._buf = b""
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        self.banner = self._read(EOL.encode())
        self._thread = threading.Thread(target=self._reader, name="ami-recorder", daemon=True)
        self._thread.start()
        reply = self.action({"Action": "Login", "Username": user, "Secret": secret, "Events": "on"},
                            action_id="contract-login")
        if reply.get("Response") != "Success":
            raise RuntimeError(f"AMI login failed: {reply}")

    def _read(self, sep: bytes) -> str:
        while sep not in self._buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("AMI closed")
            self._buf += chunk
        block, self._buf = self._buf.split(sep, 1)
        return block.decode("utf-8", "replace")

    def _reader(self) -> None:
        try:
            while True:
                block = self._read((EOL + EOL).encode())
                with self._cond:
                    self.blocks.append(block)
                    self._cond.notify_all()
        except OSError:
            with self._cond:
                self._cond.notify_all()

    def mark(self) -> int:
        with self._cond:
            return len(self.blocks)

    def since(self, mark: int) -> list[str]:
        with self._cond:
            return self.blocks[mark:]

    def wait(self, check: Callable[[dict[str, str]], bool], since: int, timeout: float, what: str) -> dict[str, str]:
        """The first block after ``since`` that passes ``check``; RuntimeError after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for block in self.blocks[since:]:
                    fields = parse_block(block)
                    if check(fields):
                        return fields
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"no AMI {what} within {timeout} s")
                self._cond.wait(left)

    def action(self, fields: dict[str, str], action_id: str = "", timeout: float = 10.0) -> dict[str, str]:
        action_id = action_id or f"contract-{next(self._ids)}"
        mark = self.mark()
        text = "".join(f"{k}: {v}{EOL}" for k, v in {**fields, "ActionID": action_id}.items()) + EOL
        self.sock.sendall(text.encode())
        return self.wait(lambda m: m.get("ActionID") == action_id and "Response" in m, mark, timeout,
                         f"reply to {fields.get('Action')}")

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def add_capture_user(h: "Hotline") -> tuple[str, str]:
    """An AMI account of the capture's own on this instance only, reading every class
    (unfiltered, unlike the controller's). Returns (user, secret)."""
    from hotline.asterisk import process as asterisk_process

    secret = secrets.token_urlsafe(18)
    conf = h.settings.instance_dir / "etc" / "manager.conf"
    conf.write_text(conf.read_text() + f"""
[contract]
secret = {secret}
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = all
write = system,reporting
""")
    asterisk_process.cli(h.settings, "manager reload")
    return "contract", secret


# -- scenarios: each returns {fixture name: raw blocks of its window} -----------------------
def fresh(h: "Hotline") -> None:
    """Every agent logged out, no phone left from the scenario before."""
    for peer in h.peers:
        peer.stop()
    h.peers.clear()
    h.reset_agents()


def finish(ami: AmiRecorder, peer_wait: Callable[[], int], mark: int) -> list[str]:
    code = peer_wait()
    if code != 0:
        raise RuntimeError(f"the citizen's SIPp ended with {code}")
    time.sleep(SETTLE)
    return ami.since(mark)


def answered(h: "Hotline", ami: AmiRecorder) -> dict[str, list[str]]:
    fresh(h)
    mark = ami.mark()
    h.agent_phone("2002")
    h.desk("log_in", "2002")
    caller = h.call("13800000101", digits="1", hold_ms=3000)
    h.wait_for(lambda: h.agent_state("2002").get("state") == "on_call", 40, "2002 never answered")
    show_mark = ami.mark()
    ami.action({"Action": "CoreShowChannels"}, action_id=SHOW_ID)
    ami.wait(lambda m: m.get("Event") == "CoreShowChannelsComplete", show_mark, 10, "CoreShowChannelsComplete")
    window = finish(ami, lambda: caller.wait(timeout=60), mark)
    shown = [b for b in window if parse_block(b).get("ActionID") == SHOW_ID]
    return {"answered": [b for b in window if b not in shown], "coreshowchannels": shown}


def ring_2001(h: "Hotline", ami: AmiRecorder, number: str, hold_ms: int) -> tuple[int, Callable[[], int]]:
    """2001 alone on shift, never answering; a citizen presses 1 and stays ``hold_ms``.
    Returns the window's mark and what waits for the citizen's end."""
    fresh(h)
    mark = ami.mark()
    h.agent_phone("2001", answer=False)
    h.desk("log_in", "2001")
    caller = h.call(number, digits="1", hold_ms=hold_ms)
    return mark, lambda: caller.wait(timeout=60)


def rona(h: "Hotline", ami: AmiRecorder) -> dict[str, list[str]]:
    mark, caller_done = ring_2001(h, ami, "13800000102", hold_ms=7500)
    ami.wait(lambda m: m.get("Event") == "DialEnd" and m.get("DialStatus") == "NOANSWER", mark, 40, "NOANSWER")
    return {"rona": finish(ami, caller_done, mark)}


def caller_hangup_ringing(h: "Hotline", ami: AmiRecorder) -> dict[str, list[str]]:
    mark, caller_done = ring_2001(h, ami, "13800000103", hold_ms=3500)  # ring timeout is 5 s
    return {"caller_hangup_ringing": finish(ami, caller_done, mark)}


def callback(h: "Hotline", ami: AmiRecorder) -> dict[str, list[str]]:
    fresh(h)
    booking = h.call("13600000104", dnis="12346", digits="1", digit_delay_ms=17000, hold_ms=40000)
    if booking.wait(timeout=90) != 0:
        raise RuntimeError("the booking call failed: " + booking.errors())
    original = h.record("13600000104")
    if original["outcome"] != "callback_requested":
        raise RuntimeError(f"no callback booked: {original}")
    time.sleep(SETTLE)
    h.citizen_phone(hangup_after_ms=1500)
    h.agent_phone("2001", answer=False)
    h.agent_phone("2002")
    mark = ami.mark()
    h.desk("log_in", "2001")
    ami.wait(lambda m: m.get("Event") == "OriginateResponse", mark, 40, "OriginateResponse of 2001's leg")
    h.desk("log_out", "2001")
    time.sleep(SETTLE)
    h.desk("log_in", "2002")
    h.wait_for(lambda: next((r for r in h.store.recent(50) if r["attrs"].get("callback_of") == original["call_id"]
                             and r["outcome"] == "answered"), None), 60, "callback never answered")
    time.sleep(SETTLE)
    return {"callback_legs": ami.since(mark)}


def split_callback_legs(blocks: list[str]) -> dict[str, list[str]]:
    """The callback window in two fixtures: 2001's unanswered legs, then from the first
    message of 2002's leg on (the answered leg and the citizen's)."""
    def names_2002(block: str) -> bool:
        fields = parse_block(block)
        return any(fields.get(k, "").startswith("PJSIP/2002-") for k in ("Channel", "DestChannel"))

    at = next((i for i, b in enumerate(blocks) if names_2002(b)), len(blocks))
    return {"callback_missed": blocks[:at], "callback": blocks[at:]}


def login_window(ami: AmiRecorder) -> dict[str, list[str]]:
    ami.wait(lambda m: m.get("Event") == "FullyBooted", 0, 10, "FullyBooted")
    blocks = ami.since(0)
    end = next(i for i, b in enumerate(blocks) if parse_block(b).get("Event") == "FullyBooted")
    return {"login": blocks[:end + 1]}


# -- files --------------------------------------------------------------------------------
def trim(name: str, blocks: Iterable[str]) -> list[str]:
    """The blocks a fixture keeps: the events of the window but NOISE (login and
    coreshowchannels keep their action responses too: they are what a client reads)."""
    kept = []
    for block in blocks:
        fields = parse_block(block)
        event = fields.get("Event")
        if event is None and name not in ("login", "coreshowchannels"):
            continue
        if event in NOISE:
            continue
        kept.append(block)
    return kept


def write_blocks(path: Path, blocks: Iterable[str]) -> None:
    """Blocks as on the wire, each ended by a blank line (LF line ends in the file; the
    stray empty line Asterisk sometimes sends before a block is left out)."""
    path.write_text("".join(block.strip(EOL).replace(EOL, "\n") + "\n\n" for block in blocks))


def read_raw(raw: Path) -> dict[str, list[str]]:
    return {p.stem: [b.replace("\n", EOL) for b in p.read_text().split("\n\n") if b.strip()]
            for p in sorted(raw.glob("*.ami"))}


def write_fixtures(windows: dict[str, list[str]], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if "callback_legs" in windows:
        windows = {**windows, **split_callback_legs(windows["callback_legs"])}
        del windows["callback_legs"]
    for name, blocks in windows.items():
        kept = trim(name, blocks)
        write_blocks(out / f"{name}.ami", kept)
        print(f"{name}.ami: {len(kept)} of {len(blocks)} messages")


def capture(raw: Path | None) -> dict[str, list[str]]:
    os.environ["HOTLINE_TEST_PORT_BASE"] = PORT_BASE  # before the harness reads it
    from hotline.asterisk import process as asterisk_process
    from tests.integration.harness import Hotline

    base = Path(tempfile.mkdtemp(prefix=f"ami-capture-{PORT_BASE}-"))
    h = Hotline(base)
    ami: AmiRecorder | None = None
    try:
        h.start()
        print(asterisk_process.cli(h.settings, "core show version").strip())
        ami = AmiRecorder(h.settings.ami_port, *add_capture_user(h))
        windows = login_window(ami)
        for scenario in (answered, rona, caller_hangup_ringing, callback):
            print(f"scenario {scenario.__name__}", flush=True)
            try:
                windows.update(scenario(h, ami))
            except Exception as exc:  # keep the other scenarios' transcripts
                print(f"scenario {scenario.__name__} failed: {exc}\n{h.controller_log(tail=3000)}")
        if raw is not None:
            raw.mkdir(parents=True, exist_ok=True)
            for name, blocks in windows.items():
                write_blocks(raw / f"{name}.ami", blocks)
            write_blocks(raw / "everything.ami", ami.since(0))
        return windows
    finally:
        if ami is not None:
            ami.close()
        h.stop()
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=TRANSCRIPTS, help="where the fixtures go")
    ap.add_argument("--raw", type=Path, help="also keep every raw block, per window, here")
    ap.add_argument("--from-raw", type=Path, help="trim a capture kept with --raw; no Asterisk")
    args = ap.parse_args()
    if args.from_raw is not None:
        windows = read_raw(args.from_raw)
        windows.pop("everything", None)
    else:
        windows = capture(args.raw)
    write_fixtures(windows, args.out)


if __name__ == "__main__":
    main()
