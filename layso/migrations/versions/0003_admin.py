"""administration: the audit trail, and retiring counters and procedures

Revision ID: 0003_admin
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

import layso.db

revision = '0003_admin'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        'audit',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', layso.db.UTCDateTime(), nullable=False),
        sa.Column('actor_kind', sa.String(length=10), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('actor_name', sa.String(length=200), nullable=False),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('target', sa.String(length=100), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit')),
    )
    op.create_index('ix_audit_at', 'audit', ['at'])
    with op.batch_alter_table('counters') as b:
        b.add_column(sa.Column('active', sa.Boolean(), nullable=False,
                               server_default=sa.true()))
    with op.batch_alter_table('procedures') as b:
        b.add_column(sa.Column('active', sa.Boolean(), nullable=False,
                               server_default=sa.true()))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('procedures') as b:
        b.drop_column('active')
    with op.batch_alter_table('counters') as b:
        b.drop_column('active')
    op.drop_index('ix_audit_at', table_name='audit')
    op.drop_table('audit')
