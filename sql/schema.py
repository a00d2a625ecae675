"""SQLAlchemy tables for call records and their events, and for the HTTP API's users and
login sessions (SQLite by default, PostgreSQL in production). The Alembic migrations in
sql/migrations create exactly these tables."""
from __future__ import annotations

from sqlalchemy import (JSON, Boolean, CheckConstraint, Column, DateTime, Float, Index, Integer,
                        MetaData, String, Table, Text)

metadata = MetaData()

calls = Table(
    "calls", metadata,
    Column("call_id", String(64), primary_key=True),
    Column("caller", String(64), nullable=False, index=True),
    Column("dnis", String(32), nullable=False),
    Column("source", String(16), nullable=False),
    Column("queue", String(32), nullable=False, default=""),
    Column("language", String(8), nullable=False, default=""),
    Column("skills", String(255), nullable=False, default=""),
    Column("priority", Integer, nullable=False, default=0),
    Column("repeat_calls", Integer, nullable=False, default=0),
    Column("arrived_at", DateTime(timezone=True), nullable=False, index=True),
    Column("queued_at", DateTime(timezone=True)),
    Column("answered_at", DateTime(timezone=True)),
    Column("ended_at", DateTime(timezone=True)),
    Column("wait_seconds", Float),
    Column("talk_seconds", Float),
    Column("agent_id", String(16), nullable=False, default="", index=True),
    Column("outcome", String(24), nullable=False),
    Column("ivr_path", JSON, nullable=False),
    Column("attrs", JSON, nullable=False),
    Column("recording", Text, nullable=False, default=""),
)

call_events = Table(
    "call_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_id", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_call_events_call_at", "call_id", "at"),
)

# Who may use the HTTP API (hotline/api/users.py). An agent's login is bound to one seat of the
# roster; the two checks keep that true whatever writes the table.
users = Table(
    "users", metadata,
    Column("username", String(32), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("agent_id", String(16)),
    Column("password_hash", String(255), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("agency_id", String(64)),  # an agency user's agency (outbound/agencies.yaml), migration 0006
    CheckConstraint("role IN ('agent', 'supervisor', 'admin', 'agency')", name="ck_users_role"),
    CheckConstraint("role <> 'agent' OR agent_id IS NOT NULL", name="ck_users_agent_seat"),
    CheckConstraint("role <> 'agency' OR agency_id IS NOT NULL", name="ck_users_agency"),
)

# Login sessions: only the SHA-256 of the token is kept, so a copy of the database opens nothing.
api_sessions = Table(
    "api_sessions", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("username", String(32), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
    Column("csrf", String(64), nullable=False),
)

# Every agency leg of a three-party call or transfer, written with the call's record from its
# ``agency_leg`` events (hotline/store/calls.py), so the KPIs count legs per agency in SQL.
call_legs = Table(
    "call_legs", metadata,
    Column("call_id", String(64), primary_key=True),
    Column("leg", Integer, primary_key=True),
    Column("agency_id", String(64), nullable=False),
    Column("number", String(32), nullable=False),
    Column("mode", String(16), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("dialled_at", DateTime(timezone=True), nullable=False),
    Column("answered_at", DateTime(timezone=True)),
    Column("ended_at", DateTime(timezone=True)),
    Column("end_reason", String(24)),
    Index("ix_call_legs_agency_dialled", "agency_id", "dialled_at"),
)

# The agents' state log: one row per change (login, ready, pause with its reason, call,
# wrap-up, logout). Read back to re-seed agents when Redis returns empty, and by the reports.
agent_states = Table(
    "agent_states", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("agent_id", String(16), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("state", String(16), nullable=False),
    Column("reason", String(64), nullable=False),
    Column("call_id", String(64), nullable=False),
    Index("ix_agent_states_agent_at", "agent_id", "at"),
    Index("ix_agent_states_at", "at"),
)

# Work orders (工单, workorders/model.py): one per call, written from the call taker's desk
# (hotline/store/work_orders.py). ``case_number`` is what the citizen is told over the phone
# (YYYYMMDD-NNNN), unique; the checks keep a transfer with its agency and due date whatever
# writes the table.
work_orders = Table(
    "work_orders", metadata,
    Column("call_id", String(64), primary_key=True),
    Column("case_number", String(20), nullable=False),
    Column("caller", String(64), nullable=False),
    Column("agent_id", String(16), nullable=False),
    Column("category", String(16), nullable=False),
    Column("request", Text, nullable=False),
    Column("district", String(40), nullable=False),
    Column("urgency", String(16), nullable=False),
    Column("handling", String(16), nullable=False),
    Column("agency_id", String(64)),
    Column("due_at", DateTime(timezone=True)),
    Column("three_party", Boolean, nullable=False, default=False),
    Column("satisfaction", String(24)),
    Column("notes", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("urgency IN ('normal', 'urgent', 'emergency')", name="ck_work_orders_urgency"),
    CheckConstraint("handling IN ('direct', 'transferred')", name="ck_work_orders_handling"),
    CheckConstraint("handling <> 'transferred' OR (agency_id IS NOT NULL AND due_at IS NOT NULL)",
                    name="ck_work_orders_transfer"),
    Index("uq_work_orders_case_number", "case_number", unique=True),
    Index("ix_work_orders_created", "created_at"),
    Index("ix_work_orders_caller_created", "caller", "created_at"),
    Index("ix_work_orders_agent_created", "agent_id", "created_at"),
)

# The last case number given on each local day (YYYYMMDD): incremented in the transaction
# that inserts the order, so two desks filing at once never get the same number.
work_order_days = Table(
    "work_order_days", metadata,
    Column("day", String(8), primary_key=True),
    Column("last", Integer, nullable=False),
)

# -- recordings, quality checks, supervisor sessions (migration 0005) ----------------------

# One row per recorded part of a call ("call": the call taker's MixMonitor file; "conference":
# the three-party room's), written by the recordings janitor (recordings/janitor.py) once the
# call's record names a finished file. ``path`` is the file as the controller's host sees it
# (the WAV first, the compressed file once verified); ``created_at`` is the call's end, from
# which the retention policy counts; ``purged_at`` is set when the file was removed.
recordings = Table(
    "recordings", metadata,
    Column("call_id", String(64), primary_key=True),
    Column("part", String(16), primary_key=True),
    Column("path", Text, nullable=False),
    Column("format", String(8), nullable=False),
    Column("bytes", Integer, nullable=False),
    Column("seconds", Float),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("compressed_at", DateTime(timezone=True)),
    Column("purged_at", DateTime(timezone=True)),
    CheckConstraint("part IN ('call', 'conference')", name="ck_recordings_part"),
    CheckConstraint("format IN ('wav', 'opus', 'mp3')", name="ck_recordings_format"),
    Index("ix_recordings_created", "created_at"),
    Index("ix_recordings_compressed", "compressed_at"),
)

# Who played or downloaded which recording, and when (refused attempts too: ``allowed`` false),
# and what the retention purge removed (action ``purge``). Written before any byte is served.
recording_access = Table(
    "recording_access", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_id", String(64), nullable=False),
    Column("part", String(16), nullable=False, default=""),
    Column("username", String(32), nullable=False),
    Column("role", String(16), nullable=False),
    Column("action", String(16), nullable=False),
    Column("allowed", Boolean, nullable=False, default=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("client", String(64), nullable=False, default=""),
    CheckConstraint("action IN ('play', 'download', 'purge')", name="ck_recording_access_action"),
    Index("ix_recording_access_call_at", "call_id", "at"),
    Index("ix_recording_access_at", "at"),
    Index("ix_recording_access_user_at", "username", "at"),
)

# A supervisor's quality check (质检) of one call: the total score (0-100, computed from
# ``items``: points per criterion of the configured form, and any veto), remarks, and ``keep``:
# the call's recordings are kept past the retention policy (an appeal, a training example).
quality_checks = Table(
    "quality_checks", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_id", String(64), nullable=False),
    Column("agent_id", String(16), nullable=False),
    Column("reviewer", String(32), nullable=False),
    Column("score", Integer, nullable=False),
    Column("items", JSON, nullable=False),
    Column("remarks", Text, nullable=False, default=""),
    Column("keep", Boolean, nullable=False, default=False),
    Column("at", DateTime(timezone=True), nullable=False),
    CheckConstraint("score >= 0 AND score <= 100", name="ck_quality_checks_score"),
    Index("ix_quality_checks_call", "call_id"),
    Index("ix_quality_checks_agent_at", "agent_id", "at"),
    Index("ix_quality_checks_at", "at"),
)

# Every listen / whisper / barge a supervisor started on a call taker's call (ChanSpy, started
# by the controller alone): the audit trail of who heard which call, from when to when.
supervisor_sessions = Table(
    "supervisor_sessions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("supervisor", String(32), nullable=False),
    Column("supervisor_phone", String(64), nullable=False),
    Column("agent_id", String(16), nullable=False),
    Column("call_id", String(64), nullable=False),
    Column("mode", String(8), nullable=False),
    Column("channel", String(128), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
    Column("end_reason", String(32)),
    CheckConstraint("mode IN ('listen', 'whisper', 'barge')", name="ck_supervisor_sessions_mode"),
    Index("ix_supervisor_sessions_call", "call_id"),
    Index("ix_supervisor_sessions_started", "started_at"),
    Index("ix_supervisor_sessions_supervisor_started", "supervisor", "started_at"),
)

# -- cases after the call: transfers, agencies' replies, follow-ups, supervision (migration 0006) --

# One case per work order (cases/lifecycle.py: the state machine and the meaning of every
# column), written by hotline/store/cases.py. The facts of the filing (caller, category,
# district, address, request, emergency) are copied from the work order for supervision and
# for the agency; ``supervision`` is the list of reasons the case is supervised for (督办),
# ``supervised`` true while it holds any (the supervisors' list is an index look-up).
cases = Table(
    "cases", metadata,
    Column("case_number", String(20), primary_key=True),
    Column("call_id", String(64), nullable=False),
    Column("state", String(24), nullable=False),
    Column("agency_id", String(64)),
    Column("caller", String(64), nullable=False, default=""),
    Column("category", String(16), nullable=False, default=""),
    Column("district", String(40), nullable=False, default=""),
    Column("address", String(200), nullable=False, default=""),
    Column("request", Text, nullable=False, default=""),
    Column("emergency", Boolean, nullable=False, default=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("accept_due", DateTime(timezone=True)),
    Column("reply_due", DateTime(timezone=True)),
    Column("handled_at", DateTime(timezone=True)),
    Column("transferred_at", DateTime(timezone=True)),
    Column("accepted_at", DateTime(timezone=True)),
    Column("extension_requested_at", DateTime(timezone=True)),
    Column("extended_at", DateTime(timezone=True)),
    Column("replied_at", DateTime(timezone=True)),
    Column("followed_up_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
    Column("reopened_at", DateTime(timezone=True)),
    Column("supervised_at", DateTime(timezone=True)),
    Column("accepted_late", Boolean, nullable=False, default=False),
    Column("replied_late", Boolean, nullable=False, default=False),
    Column("extension_count", Integer, nullable=False, default=0),
    Column("extension_days", Integer, nullable=False, default=0),
    Column("pending_extension_days", Integer),
    Column("pending_extension_reason", Text, nullable=False, default=""),
    Column("result", Text, nullable=False, default=""),
    Column("follow_up_result", String(16)),
    Column("satisfied", Boolean),
    Column("solved", Boolean),
    Column("reopen_count", Integer, nullable=False, default=0),
    Column("close_reason", Text, nullable=False, default=""),
    Column("supervision", JSON, nullable=False),
    Column("supervised", Boolean, nullable=False, default=False),
    CheckConstraint("state IN ('open', 'handled_directly', 'transferred', 'accepted', 'extension_requested', "
                    "'extended', 'replied', 'followed_up', 'closed', 'reopened')", name="ck_cases_state"),
    CheckConstraint("state IN ('open', 'handled_directly', 'closed') OR agency_id IS NOT NULL",
                    name="ck_cases_agency"),
    Index("uq_cases_call", "call_id", unique=True),
    Index("ix_cases_agency_state", "agency_id", "state"),
    Index("ix_cases_state", "state"),
    Index("ix_cases_transferred", "transferred_at"),
    Index("ix_cases_caller_opened", "caller", "opened_at"),
    Index("ix_cases_district_opened", "district", "opened_at"),
    Index("ix_cases_supervised", "supervised"),
)

# Every event of a case (kind: ``open`` or a lifecycle event's kind, e.g. ``ask_for_more_time``;
# data: the event's fields, e.g. the escalation note of a ``flag``), who caused it (a user
# name, ``system``, ``follow_up``), and when: the case's history, and the supervision list's notes.
case_events = Table(
    "case_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_number", String(20), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("state", String(24), nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_case_events_case_at", "case_number", "at"),
    Index("ix_case_events_kind_at", "kind", "at"),
)

# Follow-up calls (回访, cases/followup.py): one row per follow-up of a case, scheduled after an
# agency's reply (or for a sample of direct cases), tried ``attempts`` times; ``state``
# scheduled / done / unreachable / cancelled; the dialler reads the scheduled ones by
# ``next_attempt_at``.
follow_ups = Table(
    "follow_ups", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_number", String(20), nullable=False),
    Column("reason", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("ready_at", DateTime(timezone=True), nullable=False),
    Column("due_by", DateTime(timezone=True), nullable=False),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_attempt_at", DateTime(timezone=True)),
    Column("last_outcome", String(16)),
    Column("result", String(16)),
    Column("satisfied", Boolean),
    Column("solved", Boolean),
    CheckConstraint("state IN ('scheduled', 'done', 'unreachable', 'cancelled')", name="ck_follow_ups_state"),
    CheckConstraint("reason IN ('reply', 'direct_sample')", name="ck_follow_ups_reason"),
    Index("ix_follow_ups_state_next", "state", "next_attempt_at"),
    Index("ix_follow_ups_case", "case_number"),
)
