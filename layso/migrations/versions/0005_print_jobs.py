"""print jobs: which printer each job goes to (a kiosk's own, or the center's)

Revision ID: 0005_print_jobs
Revises: 0004_reports

A center with several kiosks prints each ticket on the printer of the kiosk that issued it,
and a kiosk whose printer is built into the kiosk machine prints through its print agent,
which resumes from the jobs kept here. Jobs already in the database went to the center's
printer: their device stays null.
"""

import sqlalchemy as sa
from alembic import op

revision = '0005_print_jobs'
down_revision = '0004_reports'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('print_jobs') as b:
        b.add_column(sa.Column('device_id', sa.Integer(), nullable=True))
        b.add_column(sa.Column('printer', sa.String(length=300), nullable=True))
        b.create_foreign_key(op.f('fk_print_jobs_device_id_devices'), 'devices',
                             ['device_id'], ['id'])
    op.create_index('ix_print_jobs_open', 'print_jobs', ['state', 'printer', 'id'])
    op.create_index('ix_print_jobs_ticket', 'print_jobs', ['ticket_id', 'id'])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index('ix_print_jobs_ticket', table_name='print_jobs')
    op.drop_index('ix_print_jobs_open', table_name='print_jobs')
    with op.batch_alter_table('print_jobs') as b:
        b.drop_constraint(op.f('fk_print_jobs_device_id_devices'), type_='foreignkey')
        b.drop_column('printer')
        b.drop_column('device_id')
