"""Follow-up calls (回访) on real Asterisk: the leader's dialler places them through the
outbound trunk at a pace the inbound lines can afford (``dialler``), each answered call runs
the follow-up flow over FastAGI (``session``), and the live line figures pacing reads come
from the same KPI code as the wall (``figures``). The rules are pure: ``cases.followup``.
"""
