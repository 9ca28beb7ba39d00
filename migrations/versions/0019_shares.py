"""members' shares at their true value: the charter's share method, notice and time to pay, partial
withdrawals; leavers' valuations

Revision ID: 0019_shares
Revises: 0018_reconcile_explained
Create Date: 2026-12-03 12:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0019_shares'
down_revision = '0018_reconcile_explained'
branch_labels = None
depends_on = None

PAYOUT_KINDS_BEFORE = "kind IN ('refund', 'distribution')"
PAYOUT_KINDS = "kind IN ('refund', 'distribution', 'withdrawal')"


def upgrade():
    with op.batch_alter_table('charter', schema=None) as batch_op:
        batch_op.add_column(sa.Column('share_method', sa.String(length=10), server_default='pro_rata', nullable=False))
        batch_op.add_column(sa.Column('exit_notice_days', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('exit_pay_months', sa.Integer(), server_default='12', nullable=False))
        batch_op.add_column(sa.Column('partial_withdrawals', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_check_constraint(op.f('ck_charter_share_method_valid'), "share_method IN ('pro_rata', 'units')")
        batch_op.create_check_constraint(op.f('ck_charter_exit_notice_range'), 'exit_notice_days BETWEEN 0 AND 365')
        batch_op.create_check_constraint(op.f('ck_charter_exit_pay_range'), 'exit_pay_months BETWEEN 0 AND 60')
    with op.batch_alter_table('payout', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_payout_kind_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_payout_kind_valid'), PAYOUT_KINDS)
    op.create_table(
        'exit_valuation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('club_id', sa.Integer(), nullable=False),
        sa.Column('membership_id', sa.Integer(), nullable=False),
        sa.Column('valued_on', sa.Date(), nullable=False),
        sa.Column('method', sa.String(length=10), nullable=False),
        sa.Column('net_assets', sa.BigInteger(), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.Column('capital', sa.BigInteger(), nullable=False),
        sa.Column('units', sa.BigInteger(), nullable=False),
        sa.Column('total_units', sa.BigInteger(), nullable=False),
        sa.Column('weight', sa.BigInteger(), nullable=False),
        sa.Column('total_weight', sa.BigInteger(), nullable=False),
        sa.Column('pay_by', sa.Date(), nullable=False),
        sa.Column('transaction_id', sa.Integer(), nullable=False),
        sa.Column('form_key', sa.String(length=64), nullable=False),
        sa.Column('valued_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('value >= 0 AND net_assets >= value', name=op.f('ck_exit_valuation_value_range')),
        sa.ForeignKeyConstraint(['club_id'], ['club.id'], name=op.f('fk_exit_valuation_club_id_club')),
        sa.ForeignKeyConstraint(['membership_id'], ['membership.id'],
                                name=op.f('fk_exit_valuation_membership_id_membership')),
        sa.ForeignKeyConstraint(['transaction_id'], ['journal_transaction.id'],
                                name=op.f('fk_exit_valuation_transaction_id_journal_transaction')),
        sa.ForeignKeyConstraint(['valued_by_id'], ['membership.id'],
                                name=op.f('fk_exit_valuation_valued_by_id_membership')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_exit_valuation')),
        sa.UniqueConstraint('club_id', 'membership_id', name=op.f('uq_exit_valuation_club_id_membership_id')),
        sa.UniqueConstraint('club_id', 'form_key', name=op.f('uq_exit_valuation_club_id_form_key')),
        sa.UniqueConstraint('transaction_id', name=op.f('uq_exit_valuation_transaction_id')),
    )


def downgrade():
    op.drop_table('exit_valuation')
    with op.batch_alter_table('payout', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_payout_kind_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_payout_kind_valid'), PAYOUT_KINDS_BEFORE)
    with op.batch_alter_table('charter', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_charter_exit_pay_range'), type_='check')
        batch_op.drop_constraint(op.f('ck_charter_exit_notice_range'), type_='check')
        batch_op.drop_constraint(op.f('ck_charter_share_method_valid'), type_='check')
        batch_op.drop_column('partial_withdrawals')
        batch_op.drop_column('exit_pay_months')
        batch_op.drop_column('exit_notice_days')
        batch_op.drop_column('share_method')
