"""Offer latency on real Asterisk, in parts: what is measured, and which module measures it.

What is measured: the time from the moment a call could be offered to the moment the
agent's INVITE leaves Asterisk, with the same clock quality for both systems.

The end: the INVITE to the agent's phone on the wire. A thread reads the loopback
interface (AF_PACKET, outgoing copies, kernel timestamps; needs CAP_NET_RAW) and each
agent leg's AMI ``DialBegin`` (DestChannel ``PJSIP/<agent>-...``) is matched to the INVITE
to that agent nearest to it. Without capture rights the DialBegin's own Timestamp is used
instead: app_dial and app_queue publish it right after ``ast_call()``, but the manager
stamps an event when it formats it, after the stasis hand-off, which this machine puts
0.2-0.3 ms after the INVITE (printed under the table as a check).

The start: each system's own record of the moment, on the same machine clock. Ours: the
controller's time.time() in its events. app_queue: the time Asterisk created the stasis
message of the caller entering Queue() (the CEL ``APP_START`` of Queue, which carries the
message's creation time; the benchmark turns CEL on for this one event type, in both
halves of the run, written by cel_custom to a file). The AMI events that would otherwise
serve (``QueueCallerJoin``, ``QueueMemberPause``) are stamped late like every AMI event,
which would flatter app_queue by the manager's delay: scenario 1 is also printed from
QueueCallerJoin, below the table. The benchmark reads AMI itself (a plain socket in a
thread, events ``call,agent``). For app_queue the ``AgentCalled`` event is published next
to DialBegin; it is checked, not used.

The scenarios (idle agent, agent logs in / is unpaused, wrap-up ends) and the fallback
path app_queue runs on are described in ``scenarios.py``; the percentiles in ``report.py``.

The parts, one job each:

- ``ami_tap.py``: a blocking AMI connection that keeps every event with Asterisk's Timestamp.
- ``sniffer.py``: kernel-timestamped capture of the agents' INVITEs and our AGI Dial lines.
- ``cel.py``: the benchmark's AMI account, CEL turned on for Queue()'s start, the CEL file read.
- ``samples.py``: pure arithmetic from what was seen to samples (offer moment, wrap-up ends).
- ``scenarios.py``: the three scenarios, for either system, on one running test hotline.
- ``run.py``: one whole run: set-up, the scenarios in their order, the notes, tear-down.
- ``report.py``: what the run prints: progress on stderr, the table and its notes on stdout.

The entry point is ``python -m benchmarks.offer_latency_bench``.
"""
