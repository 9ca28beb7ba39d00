"""year end: the year's result shared into members' capital, reopened only by a reversal; the charter says how

Revision ID: 0015_year_end
Revises: 0014_club_time_zone
Create Date: 2026-12-03 10:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0015_year_end'
down_revision = '0014_club_time_zone'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'year_end',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('club_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('result', sa.BigInteger(), nullable=False),
        sa.Column('basis', sa.String(length=10), nullable=False),
        sa.Column('closed_on', sa.Date(), nullable=False),
        sa.Column('closed_by_id', sa.Integer(), nullable=False),
        sa.Column('closed_at', sa.DateTime(), nullable=False),
        sa.Column('transaction_id', sa.Integer(), nullable=True),
        sa.Column('form_key', sa.String(length=64), nullable=False),
        sa.Column('reopened_at', sa.DateTime(), nullable=True),
        sa.Column('reopened_by_id', sa.Integer(), nullable=True),
        sa.Column('reopen_transaction_id', sa.Integer(), nullable=True),
        sa.Column('reopen_form_key', sa.String(length=64), nullable=True),
        sa.Column('reason', sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(['club_id'], ['club.id'], name=op.f('fk_year_end_club_id_club')),
        sa.ForeignKeyConstraint(['closed_by_id'], ['user_account.id'],
                                name=op.f('fk_year_end_closed_by_id_user_account')),
        sa.ForeignKeyConstraint(['reopened_by_id'], ['user_account.id'],
                                name=op.f('fk_year_end_reopened_by_id_user_account')),
        sa.ForeignKeyConstraint(['transaction_id'], ['journal_transaction.id'],
                                name=op.f('fk_year_end_transaction_id_journal_transaction')),
        sa.ForeignKeyConstraint(['reopen_transaction_id'], ['journal_transaction.id'],
                                name=op.f('fk_year_end_reopen_transaction_id_journal_transaction')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_year_end')),
        sa.UniqueConstraint('club_id', 'form_key', name=op.f('uq_year_end_club_id_form_key')),
        sa.UniqueConstraint('transaction_id', name=op.f('uq_year_end_transaction_id')),
        sa.UniqueConstraint('reopen_transaction_id', name=op.f('uq_year_end_reopen_transaction_id')),
    )
    op.create_index('ix_year_end_club_year', 'year_end', ['club_id', 'year'], unique=False)
    # Clubs keep the default: the result shared by paid-in capital × days held.
    with op.batch_alter_table('charter', schema=None) as batch_op:
        batch_op.add_column(sa.Column('result_by_days', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade():
    with op.batch_alter_table('charter', schema=None) as batch_op:
        batch_op.drop_column('result_by_days')
    op.drop_index('ix_year_end_club_year', table_name='year_end')
    op.drop_table('year_end')
