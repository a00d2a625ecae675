"""planning: how many call takers a forecast needs, before the phones ring.

Pure (no I/O at import, no clock): ``erlang`` holds the queueing formulas (Erlang B, C and
the exact Erlang A with impatient callers), ``staffing`` turns a forecast of calls per
interval into agents per interval and the staff to schedule, ``forecast`` reads the
forecast CSV, ``validate`` checks the simulator against exact Erlang A. Language and skill
groups are not isolated pools in our router, so their split is checked by simulation
(``simulator``), not by adding up per-group Erlang figures.
"""
