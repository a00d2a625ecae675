"""Work orders (工单) of the call taker's desk, one per call, and the per-day counter their
case numbers (YYYYMMDD-NNNN) are drawn from.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "work_orders",
        sa.Column("call_id", sa.String(64), primary_key=True),
        sa.Column("case_number", sa.String(20), nullable=False),
        sa.Column("caller", sa.String(64), nullable=False),
        sa.Column("agent_id", sa.String(16), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("district", sa.String(40), nullable=False),
        sa.Column("urgency", sa.String(16), nullable=False),
        sa.Column("handling", sa.String(16), nullable=False),
        sa.Column("agency_id", sa.String(64)),
        sa.Column("due_at", sa.DateTime(timezone=True)),
        sa.Column("three_party", sa.Boolean, nullable=False),
        sa.Column("satisfaction", sa.String(24)),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("urgency IN ('normal', 'urgent', 'emergency')", name="ck_work_orders_urgency"),
        sa.CheckConstraint("handling IN ('direct', 'transferred')", name="ck_work_orders_handling"),
        sa.CheckConstraint("handling <> 'transferred' OR (agency_id IS NOT NULL AND due_at IS NOT NULL)",
                           name="ck_work_orders_transfer"),
    )
    op.create_index("uq_work_orders_case_number", "work_orders", ["case_number"], unique=True)
    op.create_index("ix_work_orders_created", "work_orders", ["created_at"])
    op.create_index("ix_work_orders_caller_created", "work_orders", ["caller", "created_at"])
    op.create_index("ix_work_orders_agent_created", "work_orders", ["agent_id", "created_at"])
    op.create_table(
        "work_order_days",
        sa.Column("day", sa.String(8), primary_key=True),
        sa.Column("last", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("work_order_days")
    op.drop_table("work_orders")
