"""Live load on real Asterisk, in parts: what is measured, and which module measures it.

The load: SIPp citizens at rising rates (``--rates``, default 5, 10, 20, 30, 40 calls a second,
``--seconds`` of calls each) dial the no-menu number 12349 of a whole test hotline (real
Asterisk 22, the controller process, Redis, SQLite). With **ours**, the controller's IVR
plays the greeting (4.1 s), puts the call in the main line, and the ACD offers it to a call
taker; with **app_queue**, the controller is stopped, so the FastAGI request fails and the
dialplan answers the citizen straight into the ``hotline-fallback`` app_queue (rrmemory,
every call taker a static member): the plain app_queue set-up, on the same Asterisk, the
same phones, in the same run. The systems take turns rate by rate.

Every call carries RTP both ways (the citizens stream a 425 Hz tone from the answer, the call
takers a 600 Hz one) and is recorded (ours: MixMonitor from the call taker's answer;
app_queue: the queue's monitor-format, on the same file names). The call takers are a pool
of agents whose contacts all point at one SIPp phone (tests/integration/load.py's idea):
it rings 300 ms, answers, talks ``--talk`` s and hangs up, which ends the citizen's call in
both systems (the bench's copy of the flow has no survey, app_queue has none). Wrap-up is
5 s in both. A citizen stays on the line at most ``--patience`` + talk + 2 s after entering
the line (SIPp cannot tell the wait from the talk), then hangs up: one not connected by then
is lost, and one connected after more than ``--patience`` s has the talk cut short.

Per rate and system: calls placed, connected (a call taker answered and completed it: the
call takers' SIPp's count), failed (placed minus connected, with what became of them),
waiting time percentiles (queue entry to the call taker's answer: ours from the records,
app_queue from its AMI QueueCallerJoin / AgentConnect), the service level (answered within
15 s), CPU milliseconds per call of the controller, Asterisk and the run's own Redis (from
/proc/<pid>/stat over the step), their peak memory (RSS), and how busy the machine was.
Exact definitions: ``report.py``.

The parts, one job each:

- ``procstat.py``: CPU seconds and RSS of a process, the machine's busy time, from /proc.
- ``peers.py``: the citizens' and the call takers' SIPp (RTP, statistics file, no message log).
- ``rig.py``: the test hotline for a load (pool roster, private Redis, RTP range, AMI
  account) and the switch between the two systems.
- ``step.py``: one rate through one system, measured.
- ``run.py``: the whole run: the steps in their order, tear-down.
- ``report.py``: the table, the rate where each system first fails, the results file.

The entry point is ``python -m benchmarks.live_load_bench`` (``make bench-load``).
"""
