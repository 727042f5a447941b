"""citizens: the day's keyed hashes of ID card numbers, and the service for result pickup

Revision ID: 0006_citizens
Revises: 0005_print_jobs

`citizen_days` holds one random nonce per business day (the day's HMAC key is derived from
it and the server's secret key) and `citizen_counts` the keyed hashes of the ID card numbers
that took a ticket, per service, with how many; both are emptied when the day ends. The
center gains `result_service`, the service a citizen joins to collect a result.
"""

import sqlalchemy as sa
from alembic import op

revision = '0006_citizens'
down_revision = '0005_print_jobs'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('center') as b:
        b.add_column(sa.Column('result_service', sa.String(length=40), nullable=True))
    op.create_table(
        'citizen_days',
        sa.Column('day_id', sa.Integer(), nullable=False),
        sa.Column('nonce', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['day_id'], ['business_days.id'],
                                name=op.f('fk_citizen_days_day_id_business_days')),
        sa.PrimaryKeyConstraint('day_id', name=op.f('pk_citizen_days')),
    )
    op.create_table(
        'citizen_counts',
        sa.Column('day_id', sa.Integer(), nullable=False),
        sa.Column('service_id', sa.Integer(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('issued', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['day_id'], ['business_days.id'],
                                name=op.f('fk_citizen_counts_day_id_business_days')),
        sa.ForeignKeyConstraint(['service_id'], ['services.id'],
                                name=op.f('fk_citizen_counts_service_id_services')),
        sa.PrimaryKeyConstraint('day_id', 'service_id', 'digest',
                                name=op.f('pk_citizen_counts')),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table('citizen_counts')
    op.drop_table('citizen_days')
    with op.batch_alter_table('center') as b:
        b.drop_column('result_service')
