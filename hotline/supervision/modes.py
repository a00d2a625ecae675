"""The supervision modes and the ChanSpy options each one means (apps/app_chanspy.c): a fixed
table, so nothing a supervisor sends ever becomes a ChanSpy option.

q: no beep or name to the call taker; E: end with the spied channel; S: end when nothing is
left to spy on; u: the target is one full channel name, never a prefix. w: the supervisor's
voice reaches the call taker only (whisper); B: both parties hear the supervisor (barge).
"""
MODES = {"listen": "qESu", "whisper": "qESuw", "barge": "qESuB"}
