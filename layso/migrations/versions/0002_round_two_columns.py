"""round two: center settings, device printer and enrolment, ticket dossier

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import layso.db

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('center') as b:
        b.add_column(sa.Column('rating_scale', sa.String(length=8), nullable=False,
                               server_default='five'))
        b.add_column(sa.Column('citizen_daily_limit', sa.Integer(), nullable=True))
        b.add_column(sa.Column('alert_queue_length', sa.Integer(), nullable=True))
        b.add_column(sa.Column('alert_pause_minutes', sa.Integer(), nullable=True))
    with op.batch_alter_table('devices') as b:
        b.add_column(sa.Column('printer', sa.String(length=300), nullable=True))
        b.add_column(sa.Column('last_seen_at', layso.db.UTCDateTime(), nullable=True))
        b.add_column(sa.Column('enrol_code_hash', sa.String(length=64), nullable=True))
        b.add_column(sa.Column('enrol_expires_at', layso.db.UTCDateTime(), nullable=True))
    with op.batch_alter_table('tickets') as b:
        b.add_column(sa.Column('dossier', sa.String(length=40), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('tickets') as b:
        b.drop_column('dossier')
    with op.batch_alter_table('devices') as b:
        for name in ('enrol_expires_at', 'enrol_code_hash', 'last_seen_at', 'printer'):
            b.drop_column(name)
    with op.batch_alter_table('center') as b:
        for name in ('alert_pause_minutes', 'alert_queue_length', 'citizen_daily_limit',
                     'rating_scale'):
            b.drop_column(name)
