"""revaluations: an investment recorded at a new value by two officers, against its revaluation reserve; the
part of the reserve that leaves the books with a sale, a repayment or a write-off

Revision ID: 0020_revaluation
Revises: 0019_shares
Create Date: 2026-12-03 12:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0020_revaluation'
down_revision = '0019_shares'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'revaluation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('club_id', sa.Integer(), nullable=False),
        sa.Column('investment_id', sa.Integer(), nullable=False),
        sa.Column('value_before', sa.BigInteger(), nullable=False),
        sa.Column('new_value', sa.BigInteger(), nullable=False),
        sa.Column('valued_on', sa.Date(), nullable=False),
        sa.Column('reason', sa.String(length=300), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('form_key', sa.String(length=64), nullable=False),
        sa.Column('entered_by_id', sa.Integer(), nullable=False),
        sa.Column('entered_at', sa.DateTime(), nullable=False),
        sa.Column('approved_by_id', sa.Integer(), nullable=True),
        sa.Column('approved_at', sa.DateTime(), nullable=True),
        sa.Column('cancelled_at', sa.DateTime(), nullable=True),
        sa.Column('cancel_reason', sa.String(length=300), nullable=True),
        sa.Column('transaction_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'approved', 'cancelled')",
                           name=op.f('ck_revaluation_status_valid')),
        sa.CheckConstraint('value_before >= 0 AND new_value >= 0 AND new_value <= 10000000000',
                           name=op.f('ck_revaluation_values_range')),
        sa.CheckConstraint('new_value <> value_before', name=op.f('ck_revaluation_changes_value')),
        sa.CheckConstraint('approved_by_id IS NULL OR approved_by_id <> entered_by_id',
                           name=op.f('ck_revaluation_two_people')),
        sa.ForeignKeyConstraint(['club_id'], ['club.id'], name=op.f('fk_revaluation_club_id_club')),
        sa.ForeignKeyConstraint(['investment_id'], ['investment.id'],
                                name=op.f('fk_revaluation_investment_id_investment')),
        sa.ForeignKeyConstraint(['entered_by_id'], ['membership.id'],
                                name=op.f('fk_revaluation_entered_by_id_membership')),
        sa.ForeignKeyConstraint(['approved_by_id'], ['membership.id'],
                                name=op.f('fk_revaluation_approved_by_id_membership')),
        sa.ForeignKeyConstraint(['transaction_id'], ['journal_transaction.id'],
                                name=op.f('fk_revaluation_transaction_id_journal_transaction')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_revaluation')),
        sa.UniqueConstraint('club_id', 'form_key', name=op.f('uq_revaluation_club_id_form_key')),
        sa.UniqueConstraint('transaction_id', name=op.f('uq_revaluation_transaction_id')),
    )
    op.create_index('ix_revaluation_club_status', 'revaluation', ['club_id', 'status'], unique=False)
    op.create_index('ix_revaluation_investment', 'revaluation', ['investment_id', 'valued_on'], unique=False)
    # Events recorded before revaluations existed moved no revaluation.
    with op.batch_alter_table('investment_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revalued', sa.BigInteger(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('investment_event', schema=None) as batch_op:
        batch_op.drop_column('revalued')
    op.drop_index('ix_revaluation_investment', table_name='revaluation')
    op.drop_index('ix_revaluation_club_status', table_name='revaluation')
    op.drop_table('revaluation')
