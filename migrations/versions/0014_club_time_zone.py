"""each club has a time zone (an IANA name): times are shown, and deadlines typed, on its clock

Revision ID: 0014_club_time_zone
Revises: 0013_ballot_box
Create Date: 2026-12-03 09:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0014_club_time_zone'
down_revision = '0013_ballot_box'
branch_labels = None
depends_on = None


def upgrade():
    # Existing clubs read Paris time; their manager can change it in the club's settings.
    with op.batch_alter_table('club', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_zone', sa.String(length=64), server_default='Europe/Paris',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('club', schema=None) as batch_op:
        batch_op.drop_column('time_zone')
