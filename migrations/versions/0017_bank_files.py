"""bank files as banks write them: the layout a statement was read with (remembered for the club's next
upload), its account and currency, each line's value date and bank reference, the balances files state

Revision ID: 0017_bank_files
Revises: 0016_fec
Create Date: 2026-12-03 10:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0017_bank_files'
down_revision = '0016_fec'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('bank_statement', schema=None) as batch_op:
        batch_op.add_column(sa.Column('layout', sa.String(length=40), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('mapping', sa.String(length=300), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('account', sa.String(length=64), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('currency', sa.String(length=3), nullable=True))
    with op.batch_alter_table('bank_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('value_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('reference', sa.String(length=100), nullable=False, server_default=''))
    op.create_table(
        'bank_balance',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('club_id', sa.Integer(), nullable=False),
        sa.Column('statement_id', sa.Integer(), nullable=False),
        sa.Column('stated_on', sa.Date(), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('source', sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(['club_id'], ['club.id'], name=op.f('fk_bank_balance_club_id_club')),
        sa.ForeignKeyConstraint(['statement_id'], ['bank_statement.id'],
                                name=op.f('fk_bank_balance_statement_id_bank_statement')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_balance')),
    )
    op.create_index('ix_bank_balance_club_day', 'bank_balance', ['club_id', 'stated_on'], unique=False)
    op.create_index('ix_bank_balance_statement', 'bank_balance', ['statement_id'], unique=False)


def downgrade():
    op.drop_index('ix_bank_balance_statement', table_name='bank_balance')
    op.drop_index('ix_bank_balance_club_day', table_name='bank_balance')
    op.drop_table('bank_balance')
    with op.batch_alter_table('bank_line', schema=None) as batch_op:
        batch_op.drop_column('reference')
        batch_op.drop_column('value_on')
    with op.batch_alter_table('bank_statement', schema=None) as batch_op:
        batch_op.drop_column('currency')
        batch_op.drop_column('account')
        batch_op.drop_column('mapping')
        batch_op.drop_column('layout')
