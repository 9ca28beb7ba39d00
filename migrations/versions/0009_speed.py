"""speed at scale: a voter's ballots by membership

Revision ID: 0009_speed
Revises: 0008_mail
Create Date: 2026-11-27 01:20:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0009_speed'
down_revision = '0008_mail'
branch_labels = None
depends_on = None


def upgrade():
    # The home page lists a person's open ballots across their clubs: without it, every club's voters are read.
    with op.batch_alter_table('ballot_voter', schema=None) as batch_op:
        batch_op.create_index('ix_ballot_voter_member', ['membership_id'], unique=False)


def downgrade():
    with op.batch_alter_table('ballot_voter', schema=None) as batch_op:
        batch_op.drop_index('ix_ballot_voter_member')
