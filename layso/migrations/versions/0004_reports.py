"""reports: ticket marks (absences and the services transfers left), day rollups

Revision ID: 0004_reports
Revises: 0003_admin

A ticket row keeps only its current state, so a no-show that was reactivated and served, or a
ticket transferred out of a service, leaves no trace in it; reports need both. Tickets already
in the database are marked from what their rows still say (a ticket absent now; a ticket whose
service is not the one it was issued for).
"""

import sqlalchemy as sa
from alembic import op

import layso.db

revision = '0004_reports'
down_revision = '0003_admin'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        'ticket_marks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('day_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('service_id', sa.Integer(), nullable=False),
        sa.Column('counter_id', sa.Integer(), nullable=True),
        sa.Column('officer_id', sa.Integer(), nullable=True),
        sa.Column('at', layso.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'],
                                name=op.f('fk_ticket_marks_ticket_id_tickets')),
        sa.ForeignKeyConstraint(['day_id'], ['business_days.id'],
                                name=op.f('fk_ticket_marks_day_id_business_days')),
        sa.ForeignKeyConstraint(['service_id'], ['services.id'],
                                name=op.f('fk_ticket_marks_service_id_services')),
        sa.ForeignKeyConstraint(['counter_id'], ['counters.id'],
                                name=op.f('fk_ticket_marks_counter_id_counters')),
        sa.ForeignKeyConstraint(['officer_id'], ['users.id'],
                                name=op.f('fk_ticket_marks_officer_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_marks')),
    )
    op.create_table(
        'report_rollups',
        sa.Column('day_id', sa.Integer(), nullable=False),
        sa.Column('by', sa.String(length=12), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['day_id'], ['business_days.id'],
                                name=op.f('fk_report_rollups_day_id_business_days')),
        sa.PrimaryKeyConstraint('day_id', 'by', name=op.f('pk_report_rollups')),
    )
    op.create_index('ix_ticket_marks_day', 'ticket_marks', ['day_id', 'kind'])
    op.create_index('ix_ticket_marks_ticket', 'ticket_marks', ['ticket_id'])
    op.execute(
        "INSERT INTO ticket_marks (ticket_id, day_id, kind, service_id, counter_id, officer_id,"
        " at) SELECT id, day_id, 'no_show', service_id, counter_id, officer_id,"
        " COALESCE(finished_at, issued_at) FROM tickets WHERE state = 'no_show'")
    op.execute(
        "INSERT INTO ticket_marks (ticket_id, day_id, kind, service_id, at)"
        " SELECT id, day_id, 'transfer', origin_service_id, issued_at FROM tickets"
        " WHERE origin_service_id <> service_id")


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index('ix_ticket_marks_ticket', table_name='ticket_marks')
    op.drop_index('ix_ticket_marks_day', table_name='ticket_marks')
    op.drop_table('ticket_marks')
    op.drop_table('report_rollups')
