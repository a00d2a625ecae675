"""Recordings indexed with their calls, who accessed them, supervisors' quality checks, and
the audit of supervisors' listen / whisper / barge sessions.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("call_id", sa.String(64), primary_key=True),
        sa.Column("part", sa.String(16), primary_key=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("bytes", sa.Integer, nullable=False),
        sa.Column("seconds", sa.Float),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("compressed_at", sa.DateTime(timezone=True)),
        sa.Column("purged_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("part IN ('call', 'conference')", name="ck_recordings_part"),
        sa.CheckConstraint("format IN ('wav', 'opus', 'mp3')", name="ck_recordings_format"),
    )
    op.create_index("ix_recordings_created", "recordings", ["created_at"])
    op.create_index("ix_recordings_compressed", "recordings", ["compressed_at"])
    op.create_table(
        "recording_access",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("part", sa.String(16), nullable=False),
        sa.Column("username", sa.String(32), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("allowed", sa.Boolean, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        sa.CheckConstraint("action IN ('play', 'download', 'purge')", name="ck_recording_access_action"),
    )
    op.create_index("ix_recording_access_call_at", "recording_access", ["call_id", "at"])
    op.create_index("ix_recording_access_at", "recording_access", ["at"])
    op.create_index("ix_recording_access_user_at", "recording_access", ["username", "at"])
    op.create_table(
        "quality_checks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("agent_id", sa.String(16), nullable=False),
        sa.Column("reviewer", sa.String(32), nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("items", sa.JSON, nullable=False),
        sa.Column("remarks", sa.Text, nullable=False),
        sa.Column("keep", sa.Boolean, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("score >= 0 AND score <= 100", name="ck_quality_checks_score"),
    )
    op.create_index("ix_quality_checks_call", "quality_checks", ["call_id"])
    op.create_index("ix_quality_checks_agent_at", "quality_checks", ["agent_id", "at"])
    op.create_index("ix_quality_checks_at", "quality_checks", ["at"])
    op.create_table(
        "supervisor_sessions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("supervisor", sa.String(32), nullable=False),
        sa.Column("supervisor_phone", sa.String(64), nullable=False),
        sa.Column("agent_id", sa.String(16), nullable=False),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("channel", sa.String(128), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("end_reason", sa.String(32)),
        sa.CheckConstraint("mode IN ('listen', 'whisper', 'barge')", name="ck_supervisor_sessions_mode"),
    )
    op.create_index("ix_supervisor_sessions_call", "supervisor_sessions", ["call_id"])
    op.create_index("ix_supervisor_sessions_started", "supervisor_sessions", ["started_at"])
    op.create_index("ix_supervisor_sessions_supervisor_started", "supervisor_sessions", ["supervisor", "started_at"])


def downgrade() -> None:
    op.drop_table("supervisor_sessions")
    op.drop_table("quality_checks")
    op.drop_table("recording_access")
    op.drop_table("recordings")
