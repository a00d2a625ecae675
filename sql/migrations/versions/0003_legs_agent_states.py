"""Every agency leg of a call as a row (for the per-agency KPIs), and the agents' state log
(for re-seeding a Redis that came back empty, and for occupancy and login-time reports).

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_legs",
        sa.Column("call_id", sa.String(64), primary_key=True),
        sa.Column("leg", sa.Integer, primary_key=True),
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("dialled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("end_reason", sa.String(24)),
    )
    op.create_index("ix_call_legs_agency_dialled", "call_legs", ["agency_id", "dialled_at"])
    op.create_table(
        "agent_states",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("agent_id", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("call_id", sa.String(64), nullable=False),
    )
    op.create_index("ix_agent_states_agent_at", "agent_states", ["agent_id", "at"])
    op.create_index("ix_agent_states_at", "agent_states", ["at"])


def downgrade() -> None:
    op.drop_table("agent_states")
    op.drop_table("call_legs")
