"""simulator: a discrete-event simulation of the hotline that runs the live routing code.

The same pure code that routes live calls decides here: ``acd.route`` (or a baseline
router with its interface, ``simulator.baselines``), the agent state machine
(``agents.state.apply``/``settle``) and the call state machine (``calls.state.apply``),
fed by a heap of events on a virtual clock. Nothing is re-implemented: the simulator only
draws what the world does (arrivals, handle times, patience, missed rings, callbacks,
shifts and breaks) and writes ``CallRecord``/``CallEvent`` values as the live sessions
store them, plus the agents' state log, so the KPI code reads a simulated day as it reads
a real one.

Modules: ``scenario`` (the YAML scenario, validated), ``demand`` (the calls of a run,
drawn once from the seed), ``roster`` (agents and their shifts), ``engine`` (the event
loop), ``available`` and ``line`` (exact shortcuts: a routing step is given only the agents
and the head of the line it can use), ``recorder`` (records in the live shape, JSON lines),
``report`` (a short summary, and the KPI report), ``replay`` (a recorded day under another
roster), ``baselines`` (other routing designs), ``study`` (the skill-routing study) and
``cli`` (``hotline simulate``). Speed: ``benchmarks/simulator_bench.py``; agreement with
exact Erlang A: ``planning/validate.py``.
"""
