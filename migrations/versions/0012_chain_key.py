"""the hash chain keyed (HMAC-SHA256, the key outside the database): each period close records the chain's head

Revision ID: 0012_chain_key
Revises: 0011_payouts
Create Date: 2026-12-03 07:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0012_chain_key'
down_revision = '0011_payouts'
branch_labels = None
depends_on = None


def upgrade():
    # Existing transactions cannot be sealed again here: the key is not in the database. They stay sealed
    # plain (version 1) until `flask coop reseal` seals them under the key (docs/security.md). Closes made
    # before this revision recorded no head: theirs stay empty.
    with op.batch_alter_table('period_close', schema=None) as batch_op:
        batch_op.add_column(sa.Column('head_seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('head_hash', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('period_close', schema=None) as batch_op:
        batch_op.drop_column('head_hash')
        batch_op.drop_column('head_seq')
