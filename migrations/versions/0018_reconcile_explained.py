"""a reconciliation keeps the bank's balance that day (when its files state one) and the treasurer's
explanation of a difference with the books

Revision ID: 0018_reconcile_explained
Revises: 0017_bank_files
Create Date: 2026-12-10 10:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0018_reconcile_explained'
down_revision = '0017_bank_files'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('bank_reconciliation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bank_balance', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('explanation', sa.String(length=300), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('bank_reconciliation', schema=None) as batch_op:
        batch_op.drop_column('explanation')
        batch_op.drop_column('bank_balance')
