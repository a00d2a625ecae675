"""The pure parts of the offer-latency benchmark (benchmarks/offer): AMI messages, captured
packets and the kernel filter, CEL lines, the offer moment and samples, the printed table.
None of them needs Asterisk, and none imports the integration harness."""
from __future__ import annotations

import random
import socket
import struct
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from benchmarks.offer import report
from benchmarks.offer.ami_tap import (
    agent_leg,
    event_is,
    frame_action,
    is_agent_dial,
    parse_message,
    ts,
)
from benchmarks.offer.cel import CEL_CUSTOM_CONF, bench_account, parse_cel, read_cel
from benchmarks.offer.samples import (
    AgentView,
    CallSeen,
    app_queue_wrap_end,
    epoch,
    near_hangups,
    offer_moment,
    queued_and_offered,
    stratified_delays,
    wrapup_samples,
)
from benchmarks.offer.sniffer import (
    InviteSniffer,
    agi_dial_before,
    agi_to_invite,
    bpf_program,
    invite_near,
    kernel_stamp,
    parse_frame,
)

AGENTS = ("2001", "2002", "2003", "2004")
PORTS = {36001: "2001", 36002: "2002"}
AGI_PORTS = (35073, 35074)
OUT, IN = socket.PACKET_OUTGOING, socket.PACKET_HOST


def dial_begin(agent: str, at: float, uid: str = "u1") -> dict[str, str]:
    return {"Event": "DialBegin", "Timestamp": f"{at:.6f}", "Channel": "PJSIP/trunk-00000001", "Uniqueid": uid,
            "DestChannel": f"PJSIP/{agent}-0000002a", "DestUniqueid": "d1"}


# -- AMI messages ----------------------------------------------------------------------------
def test_an_ami_message_keeps_the_first_value_of_a_key_and_strips_values() -> None:
    msg = parse_message("Event: DialBegin\r\nUniqueid:  1.5 \r\nUniqueid: 2.0\r\nno colon here\r\nTimestamp: 17.25")
    assert msg == {"Event": "DialBegin", "Uniqueid": "1.5", "Timestamp": "17.25"}
    assert ts(msg) == 17.25


def test_an_action_is_framed_with_its_id_and_a_blank_line() -> None:
    assert frame_action({"Action": "QueuePause", "Paused": "true"}, "bench-3") == (
        b"Action: QueuePause\r\nPaused: true\r\nActionID: bench-3\r\n\r\n")


def test_event_predicates_match_the_name_and_every_field() -> None:
    joined = event_is("QueueCallerJoin", Uniqueid="u1")
    assert joined({"Event": "QueueCallerJoin", "Uniqueid": "u1", "Queue": "q"})
    assert not joined({"Event": "QueueCallerJoin", "Uniqueid": "u2"})
    assert not joined({"Event": "QueueCallerLeave", "Uniqueid": "u1"})


@pytest.mark.parametrize("channel, agent", [
    ("PJSIP/2001-0000002a", "2001"), ("PJSIP/2004-00000100", "2004"),
    ("PJSIP/citizen-00000001", ""), ("PJSIP/2009-00000001", ""), ("Local/2001@x-0001;1", ""),
    ("SIP/2001-00000001", ""), ("", ""),
])
def test_only_a_roster_agents_pjsip_leg_is_an_agent_leg(channel: str, agent: str) -> None:
    assert agent_leg(channel, AGENTS) == agent


def test_an_agent_dial_is_a_dialbegin_to_a_roster_agent_of_the_call_asked_for() -> None:
    e = dial_begin("2002", 1.0, uid="u7")
    assert is_agent_dial(e, AGENTS) and is_agent_dial(e, AGENTS, "u7")
    assert not is_agent_dial(e, AGENTS, "u8")
    assert not is_agent_dial({**e, "DestChannel": "PJSIP/trunk-00000009"}, AGENTS)
    assert not is_agent_dial({**e, "Event": "DialEnd"}, AGENTS)
    malformed = {k: v for k, v in e.items() if k != "DestUniqueid"}
    assert not is_agent_dial(malformed, AGENTS)


# -- captured packets ----------------------------------------------------------------------------
def frame(proto: int, sport: int, dport: int, payload: bytes, ethertype: bytes = b"\x08\x00",
          ip_options: int = 0, tcp_options: int = 0) -> bytes:
    """An Ethernet frame on loopback: zero MACs, IPv4 (with ``ip_options`` words), TCP or UDP."""
    ip = bytes([0x45 + ip_options, 0]) + bytes(7) + bytes([proto]) + bytes(10) + bytes(4 * ip_options)
    if proto == 6:
        l4 = struct.pack(">HH", sport, dport) + bytes(8) + bytes([(5 + tcp_options) << 4]) + bytes(7 + 4 * tcp_options)
    else:
        l4 = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0)
    return bytes(12) + ethertype + ip + l4 + payload


INVITE = b"INVITE sip:2001@127.0.0.1:36001 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1\r\n\r\n"
AGI_DIAL = b'EXEC "Dial" "PJSIP/2002,5,mgU(hotline-record^x)"\n'


@pytest.mark.parametrize("data, pkttype, seen", [
    (frame(17, 5060, 36001, INVITE), OUT, ("invite", "2001")),
    (frame(17, 5060, 36001, INVITE, ip_options=1), OUT, ("invite", "2001")),
    (frame(17, 5060, 36001, INVITE), IN, None),  # the receiving copy of the same packet
    (frame(17, 5060, 36001, b"OPTIONS sip:2001@127.0.0.1 SIP/2.0\r\n" + bytes(20)), OUT, None),
    (frame(17, 5060, 36009, INVITE), OUT, None),  # not an agent's phone
    (frame(17, 5060, 36001, INVITE, ethertype=b"\x86\xdd"), OUT, None),
    (frame(6, 35073, 40000, AGI_DIAL), OUT, ("agi", "2002")),
    (frame(6, 35073, 40000, AGI_DIAL, tcp_options=3), OUT, ("agi", "2002")),
    (frame(6, 35073, 40000, b'EXEC "Playback" "/x/welcome"\n'), OUT, None),
    (frame(1, 0, 0, bytes(40)), OUT, None),
    (bytes(30), OUT, None),
])
def test_a_captured_frame_is_an_agent_invite_an_agi_dial_or_nothing(data: bytes, pkttype: int,
                                                                   seen: tuple[str, str] | None) -> None:
    assert parse_frame(data, pkttype, PORTS) == seen


def run_bpf(code: list[tuple[int, int, int, int]], data: bytes, pkttype: int) -> int:
    """A classic-BPF interpreter for the instructions the filter uses (as the kernel runs them)."""
    a = x = pc = 0
    while True:
        op, jt, jf, k = code[pc]
        pc += 1
        if op == 0x20:  # ld [SKF_AD_PKTTYPE]
            assert k == 0xFFFFF004
            a = pkttype
        elif op == 0x28:  # ldh [k]
            a = int.from_bytes(data[k:k + 2], "big")
        elif op == 0x30:  # ldb [k]
            a = data[k]
        elif op == 0xB1:  # ldx 4*([k]&0xf)
            x = 4 * (data[k] & 0x0F)
        elif op == 0x48:  # ldh [x + k]
            a = int.from_bytes(data[x + k:x + k + 2], "big")
        elif op == 0x15:  # jeq #k, jt, jf
            assert 0 <= jt < 256 and 0 <= jf < 256
            pc += jt if a == k else jf
        elif op == 0x06:  # ret #k
            return k
        else:
            raise AssertionError(f"unexpected opcode {op:#x}")


@pytest.mark.parametrize("data, pkttype, passes", [
    (frame(17, 5060, 36001, INVITE), OUT, True),
    (frame(17, 5060, 36002, INVITE, ip_options=2), OUT, True),
    (frame(17, 5060, 36001, INVITE), IN, False),
    (frame(17, 5060, 36009, INVITE), OUT, False),  # RTP or another phone
    (frame(17, 5060, 36001, INVITE, ethertype=b"\x86\xdd"), OUT, False),
    (frame(6, 35074, 40000, AGI_DIAL), OUT, True),
    (frame(6, 40000, 35073, b"200 result=0\n"), OUT, False),  # Asterisk's side of FastAGI
    (frame(6, 35038, 40000, b"Event: Newexten\r\n"), OUT, False),  # AMI
    (frame(1, 0, 0, bytes(40)), OUT, False),
])
def test_the_kernel_filter_passes_only_agent_sip_and_our_agi_commands(data: bytes, pkttype: int,
                                                                      passes: bool) -> None:
    code = bpf_program(PORTS, AGI_PORTS)
    assert (run_bpf(code, data, pkttype) > 0) is passes
    # The filter only narrows what parse_frame is shown; it never hides what parse_frame keeps.
    if parse_frame(data, pkttype, PORTS) is not None:
        assert passes


def test_the_kernel_timestamp_is_read_from_the_ancillary_data() -> None:
    stamp = (socket.SOL_SOCKET, 35, struct.pack("<qq", 1_700_000_000, 250_000_000))
    assert kernel_stamp([(socket.SOL_SOCKET, 99, b"x" * 16), stamp]) == pytest.approx(1_700_000_000.25)
    assert kernel_stamp([]) is None


def test_an_invite_is_matched_to_the_nearest_of_its_agent_within_the_window() -> None:
    invites = [(10.000, "2001"), (10.0004, "2002"), (10.001, "2001"), (10.5, "2001")]
    assert invite_near(invites, "2001", 10.0008) == 10.001
    assert invite_near(invites, "2002", 10.0) == 10.0004
    assert invite_near(invites, "2001", 10.25) is None  # 0.25 s from either
    assert invite_near(invites, "2003", 10.0) is None


def test_asterisks_share_runs_from_each_agi_dial_to_the_next_invite_to_that_agent() -> None:
    invites = [(10.0012, "2001"), (10.0020, "2001"), (10.0015, "2002")]
    dials = [(10.0, "2001"), (10.0010, "2002"), (11.0, "2001")]
    assert agi_to_invite(invites, dials) == pytest.approx([0.0012, 0.0005])
    assert agi_dial_before(dials, "2001", 10.0012) == 10.0
    assert agi_dial_before(dials, "2001", 10.06) is None  # more than 50 ms before
    assert agi_dial_before(dials, "2002", 10.0005) is None  # after the INVITE


# -- the offer moment ---------------------------------------------------------------------------
def test_the_offer_ends_at_the_invite_on_the_wire_else_at_dialbegin() -> None:
    dial = dial_begin("2001", 100.0003)
    sniffer = InviteSniffer(PORTS)
    sniffer.seen += [(100.0001, "2001"), (100.0002, "2002"), (99.5, "2001")]
    assert offer_moment(dial, sniffer) == 100.0001
    assert sniffer.offsets([dial]) == pytest.approx([-0.0002])
    assert offer_moment(dial, None) == 100.0003  # no capture rights
    assert offer_moment(dial_begin("2003", 100.0003), sniffer) == 100.0003  # INVITE not seen


# -- CEL --------------------------------------------------------------------------------------
def test_cel_lines_give_each_calls_first_queue_start(tmp_path: Path) -> None:
    text = '"1700000000.125","1700000000.7"\n1700000001.5,1700000000.8\nnot,a time\n\n"1700000002.0","1700000000.7"\n'
    assert parse_cel(text) == {"1700000000.7": 1700000000.125, "1700000000.8": 1700000001.5}
    path = tmp_path / "queue-start.csv"
    assert read_cel(path) == {}  # Asterisk has not written it yet
    path.write_text(text)
    assert read_cel(path) == parse_cel(text)


def test_cel_writes_time_and_uniqueid_and_the_bench_account_is_loopback_only() -> None:
    assert CEL_CUSTOM_CONF == "[mappings]\nqueue-start.csv => ${eventtime},${CHANNEL(uniqueid)}\n"
    account = bench_account("s3cret")
    assert "[bench]" in account and "secret = s3cret" in account
    assert "permit = 127.0.0.1/255.255.255.255" in account and "write = call,agent,system,command" in account


# -- samples -----------------------------------------------------------------------------------
def test_database_times_become_epoch_seconds() -> None:
    aware = datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=timezone(timedelta(hours=8)))
    assert epoch(aware) == aware.timestamp()
    assert epoch(aware.astimezone(timezone.utc).replace(tzinfo=None)) == aware.timestamp()  # naive = UTC
    assert epoch("12.5") == 12.5 and epoch(3) == 3.0


def test_ours_start_is_the_first_queued_event_and_the_routing_decision_the_first_offered() -> None:
    rows = [{"kind": "arrived", "at": 9.0}, {"kind": "queued", "at": 10.0}, {"kind": "offered", "at": 10.002},
            {"kind": "queued", "at": 20.0}, {"kind": "offered", "at": 20.5}]
    assert queued_and_offered(rows) == (10.0, 10.002)
    assert queued_and_offered(rows[:2]) == (10.0, None)
    assert queued_and_offered([{"kind": "arrived", "at": 9.0}]) is None


def test_offers_just_after_a_hang_up_are_counted() -> None:
    assert near_hangups([10.01, 10.2, 20.0, 5.0], [10.0, 19.99]) == 2  # 5.0 came before every hang-up


def test_freeing_delays_fall_one_in_each_slice_of_the_second() -> None:
    delays = stratified_delays(random.Random(7), 5)
    assert sorted(int((d - 0.2) * 5) for d in delays) == [0, 1, 2, 3, 4]
    assert delays == stratified_delays(random.Random(7), 5)  # the same seed, the same draws


def test_app_queue_frees_a_member_at_the_whole_second_of_its_call_end_plus_wrap_up() -> None:
    assert app_queue_wrap_end(1000.97, 5.0) == 1005.0


def test_wrap_up_samples_run_from_the_wrap_up_end_and_head_keeps_the_oldest_waiting_call() -> None:
    wrap_ends = {"2001": {100.0, 130.0}, "2002": {100.0}, "2003": set()}
    seen = [
        CallSeen(95.0, 100.004, None, "2001"),  # waited through 2001's wrap-up: sample 4 ms, head
        CallSeen(96.0, 100.006, None, "2002"),  # waited too, but the 95.0 call still waited at 100.0
        CallSeen(99.98, 100.01, None, "2001"),  # queued 20 ms before the end: too close, no sample
        CallSeen(140.0, 140.001, None, "2001"),  # straight to an idle agent (wrap-up over long ago)
        CallSeen(97.0, 101.0, None, "2003"),  # no wrap-up end known for 2003
        CallSeen(90.0, None, 99.0, ""),  # left unanswered before the end: does not hold the head back
    ]
    every, head = wrapup_samples(seen, wrap_ends)
    assert every == pytest.approx([0.004, 0.006])
    assert head == pytest.approx([0.004])


def test_the_idle_view_counts_an_agent_busy_until_wrap_up_and_half_a_second_after_its_hang_up() -> None:
    view = AgentView(AGENTS, wrapup=3.0)
    assert view.idle(1.0) == 4
    view.feed(dial_begin("2001", 10.0))
    view.feed({"Event": "Hangup", "Channel": "PJSIP/trunk-00000001", "Uniqueid": "u1", "Timestamp": "11.0"})
    assert view.idle(11.0) == 3  # the caller's hang-up is not the agent's
    view.feed({"Event": "Hangup", "Channel": "PJSIP/2001-0000002a", "Uniqueid": "d1", "Timestamp": "12.0"})
    assert view.idle(15.4) == 3 and view.idle(15.6) == 4


# -- the printed table ---------------------------------------------------------------------------
def test_the_table_prints_rows_ratios_and_notes_in_order() -> None:
    res = report.Results(on_wire=True, notes=["a note"])
    res.rows += [("1 idle agent -> INVITE", "ours", [1.0, 2.0, 3.0]),
                 ("1 idle agent -> INVITE", "app_queue", [2.0, 4.0, 6.0]),
                 ("2 agent logs in -> INVITE", "ours", [3.5])]
    lines = report.table_lines(res, "x86_64", 2, 36000)
    assert lines == [
        "",
        "Offer latency on real Asterisk (x86_64, 2 cores, port base 36000); "
        "moment the call could be offered -> agent's INVITE out (on the wire)",
        "scenario                      system        n  median ms   p99 ms   max ms",
        "1 idle agent -> INVITE        ours          3        2.0      3.0      3.0",
        "1 idle agent -> INVITE        app_queue     3        4.0      6.0      6.0",
        "                              ratio app_queue/ours            2.0x     2.0x",
        "2 agent logs in -> INVITE     ours          1        3.5      3.5      3.5",
        "2 agent logs in -> INVITE     app_queue     0          -        -        -",
        "a note",
        # Printed as before the split, also when scenario 3 did not run (no row 3 nor 3b).
        "scenario 3: every sample's call was the head caller when the wrap-up ended (row 3b = row 3)",
    ]
    assert res.notes == ["a note"]  # printing leaves the results as they were


def test_row_3b_is_left_out_when_it_repeats_row_3_and_large_rows_get_a_bootstrap_note() -> None:
    ours, theirs = [float(i) for i in range(1, 21)], [float(i) * 100 for i in range(1, 21)]
    res = report.Results()
    for system, xs in (("ours", ours), ("app_queue", theirs)):
        res.rows += [(report.ROW_3, system, xs), (report.ROW_3B, system, list(xs))]
    lines = report.table_lines(res, "aarch64", 4, 35000)
    assert "(its DialBegin)" in lines[1]
    assert not any(line.startswith("3b") for line in lines)
    assert lines[-2] == "scenario 3: every sample's call was the head caller when the wrap-up ended (row 3b = row 3)"
    assert lines[-1].startswith("scenario 3, ours minus app_queue with its 95 % bootstrap interval: median -")
    res.rows[1] = (report.ROW_3B, "ours", ours[:5])
    assert sum(line.startswith("3b") for line in report.table_lines(res, "aarch64", 4, 35000)) == 2


def test_the_notes_below_the_table_say_their_figures() -> None:
    assert report.near_hangup_note({"ours": (1, 50), "app_queue": (0, 50)}).endswith("ours 1/50, app_queue 0/50")
    assert report.steal_note({"ours": 0.12, "app_queue": 0.0}, {"ours": 61.2, "app_queue": 59.0}).endswith(
        "ours 120 ms in 61 s, app_queue 0 ms in 59 s")
    assert report.routing_note([0.001, 0.002], []) == (
        "ours, scenario 1 split: queued -> 'offered' (the routing decision) median 1.50 ms; the rest is Asterisk's")
    assert "queued -> its AGI Dial on the wire 2.00 ms (p99 2.00)" in report.routing_note([0.001], [0.002])
    assert report.wire_check_note("ours", [0.25, -0.05], 3).endswith(
        "2/3 matched: median +0.10 ms, min -0.05, max +0.25")
