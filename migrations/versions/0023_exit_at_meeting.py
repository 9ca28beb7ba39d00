"""a charter may value a leaver's share at the first general meeting held once the notice has run

Revision ID: 0023_exit_at_meeting
Revises: 0022_meetings
Create Date: 2026-12-03 13:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0023_exit_at_meeting'
down_revision = '0022_meetings'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('charter', schema=None) as batch_op:
        batch_op.add_column(sa.Column('exit_at_meeting', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('charter', schema=None) as batch_op:
        batch_op.drop_column('exit_at_meeting')
