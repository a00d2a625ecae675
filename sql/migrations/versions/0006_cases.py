"""Cases after the call (their events and follow-up calls), and agency users.

Tables ``cases``, ``case_events`` and ``follow_ups`` (see sql/schema.py); the ``users`` table
gets the ``agency`` role and an ``agency_id`` column: the role's CHECK is replaced. SQLite
cannot alter a CHECK, so the table is copied in Alembic's batch mode (the copy is built
from the table as migration 0002 made it, ``copy_from``: nothing is left to reflection);
on PostgreSQL the same batch block is plain ALTER TABLE (drop and add the constraint).

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OLD_ROLES = "role IN ('agent', 'supervisor', 'admin')"
NEW_ROLES = "role IN ('agent', 'supervisor', 'admin', 'agency')"
AGENCY_USER = "role <> 'agency' OR agency_id IS NOT NULL"


def _users(with_agency: bool) -> sa.Table:
    """The users table before (0002) or after this migration, for the batch copy."""
    columns = [
        sa.Column("username", sa.String(32), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("agent_id", sa.String(16)),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    ]
    checks = [sa.CheckConstraint(NEW_ROLES if with_agency else OLD_ROLES, name="ck_users_role"),
              sa.CheckConstraint("role <> 'agent' OR agent_id IS NOT NULL", name="ck_users_agent_seat")]
    if with_agency:
        columns.append(sa.Column("agency_id", sa.String(64)))
        checks.append(sa.CheckConstraint(AGENCY_USER, name="ck_users_agency"))
    return sa.Table("users", sa.MetaData(), *columns, *checks)


def _timestamps(*names: str) -> list[sa.Column]:
    return [sa.Column(name, sa.DateTime(timezone=True)) for name in names]


def upgrade() -> None:
    with op.batch_alter_table("users", copy_from=_users(False), recreate="auto") as batch:
        batch.add_column(sa.Column("agency_id", sa.String(64)))
        batch.drop_constraint("ck_users_role", type_="check")
        batch.create_check_constraint("ck_users_role", NEW_ROLES)
        batch.create_check_constraint("ck_users_agency", AGENCY_USER)

    op.create_table(
        "cases",
        sa.Column("case_number", sa.String(20), primary_key=True),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("agency_id", sa.String(64)),
        sa.Column("caller", sa.String(64), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("district", sa.String(40), nullable=False),
        sa.Column("address", sa.String(200), nullable=False),
        sa.Column("request", sa.Text, nullable=False),
        sa.Column("emergency", sa.Boolean, nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        *_timestamps("accept_due", "reply_due", "handled_at", "transferred_at", "accepted_at",
                     "extension_requested_at", "extended_at", "replied_at", "followed_up_at", "closed_at",
                     "reopened_at", "supervised_at"),
        sa.Column("accepted_late", sa.Boolean, nullable=False),
        sa.Column("replied_late", sa.Boolean, nullable=False),
        sa.Column("extension_count", sa.Integer, nullable=False),
        sa.Column("extension_days", sa.Integer, nullable=False),
        sa.Column("pending_extension_days", sa.Integer),
        sa.Column("pending_extension_reason", sa.Text, nullable=False),
        sa.Column("result", sa.Text, nullable=False),
        sa.Column("follow_up_result", sa.String(16)),
        sa.Column("satisfied", sa.Boolean),
        sa.Column("solved", sa.Boolean),
        sa.Column("reopen_count", sa.Integer, nullable=False),
        sa.Column("close_reason", sa.Text, nullable=False),
        sa.Column("supervision", sa.JSON, nullable=False),
        sa.Column("supervised", sa.Boolean, nullable=False),
        sa.CheckConstraint("state IN ('open', 'handled_directly', 'transferred', 'accepted', 'extension_requested', "
                           "'extended', 'replied', 'followed_up', 'closed', 'reopened')", name="ck_cases_state"),
        sa.CheckConstraint("state IN ('open', 'handled_directly', 'closed') OR agency_id IS NOT NULL",
                           name="ck_cases_agency"),
    )
    op.create_index("uq_cases_call", "cases", ["call_id"], unique=True)
    op.create_index("ix_cases_agency_state", "cases", ["agency_id", "state"])
    op.create_index("ix_cases_state", "cases", ["state"])
    op.create_index("ix_cases_transferred", "cases", ["transferred_at"])
    op.create_index("ix_cases_caller_opened", "cases", ["caller", "opened_at"])
    op.create_index("ix_cases_district_opened", "cases", ["district", "opened_at"])
    op.create_index("ix_cases_supervised", "cases", ["supervised"])

    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_number", sa.String(20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
    )
    op.create_index("ix_case_events_case_at", "case_events", ["case_number", "at"])
    op.create_index("ix_case_events_kind_at", "case_events", ["kind", "at"])

    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_number", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("last_outcome", sa.String(16)),
        sa.Column("result", sa.String(16)),
        sa.Column("satisfied", sa.Boolean),
        sa.Column("solved", sa.Boolean),
        sa.CheckConstraint("state IN ('scheduled', 'done', 'unreachable', 'cancelled')", name="ck_follow_ups_state"),
        sa.CheckConstraint("reason IN ('reply', 'direct_sample')", name="ck_follow_ups_reason"),
    )
    op.create_index("ix_follow_ups_state_next", "follow_ups", ["state", "next_attempt_at"])
    op.create_index("ix_follow_ups_case", "follow_ups", ["case_number"])


def downgrade() -> None:
    op.drop_table("follow_ups")
    op.drop_table("case_events")
    op.drop_table("cases")
    # agency accounts cannot exist before this revision: they go, with their sessions
    op.execute("DELETE FROM api_sessions WHERE username IN (SELECT username FROM users WHERE role = 'agency')")
    op.execute("DELETE FROM users WHERE role = 'agency'")
    with op.batch_alter_table("users", copy_from=_users(True), recreate="auto") as batch:
        batch.drop_constraint("ck_users_agency", type_="check")
        batch.drop_constraint("ck_users_role", type_="check")
        batch.create_check_constraint("ck_users_role", OLD_ROLES)
        batch.drop_column("agency_id")
