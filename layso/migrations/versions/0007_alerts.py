"""alerts: how long a kiosk or board may stay silent before the supervisors are told

Revision ID: 0007_alerts
Revises: 0006_citizens

The other two thresholds of the live supervision (a queue longer than, a counter paused longer
than) came with 0002; a device's silence needs its own. Null: no such alert (a center that
switches its kiosks off at night chooses when to turn it on).
"""

import sqlalchemy as sa
from alembic import op

revision = '0007_alerts'
down_revision = '0006_citizens'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('center') as b:
        b.add_column(sa.Column('alert_silent_minutes', sa.Integer(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('center') as b:
        b.drop_column('alert_silent_minutes')
