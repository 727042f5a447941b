"""report rollups: each histogram bucket keeps the sum of its seconds, not only its count

Revision ID: 0008_rollup_bucket_sums
Revises: 0007_alerts

The 90th percentiles of the reports were the lower edge of a 30-second bucket, up to half a
minute low (a day's P90 wait could read below its mean). The buckets now carry their sums, which
place the percentile inside its bucket. Rollups are sums kept only to spare recounting past
days: the old ones are dropped here and `ensure_rollups` counts those days again from their
tickets on the next report; no ticket, rating or event changes.
"""

import sqlalchemy as sa
from alembic import op

revision = '0008_rollup_bucket_sums'
down_revision = '0007_alerts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.execute(sa.text("DELETE FROM report_rollups"))


def downgrade() -> None:
    """Revert this revision (the rollups of the new shape are dropped, to be counted again)."""
    op.execute(sa.text("DELETE FROM report_rollups"))
