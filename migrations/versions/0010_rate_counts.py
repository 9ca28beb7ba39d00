"""rate-limit counts in the database, shared by every worker

Revision ID: 0010_rate_counts
Revises: 0009_speed
Create Date: 2026-12-03 06:50:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0010_rate_counts'
down_revision = '0009_speed'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'rate_count',
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('expires_at', sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_count')),
    )


def downgrade():
    op.drop_table('rate_count')
