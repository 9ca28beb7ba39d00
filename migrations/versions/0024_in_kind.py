"""paying a leaver in kind: the charter may let the club hand a leaver part of its shares in an enterprise when
cash is short; a payout of kind 'in_kind' names the investment and the stake; its approval is an investment
event of kind 'handover'

Revision ID: 0024_in_kind
Revises: 0023_exit_at_meeting
Create Date: 2026-12-14 10:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0024_in_kind'
down_revision = '0023_exit_at_meeting'
branch_labels = None
depends_on = None

PAYOUT_KINDS_BEFORE = "kind IN ('refund', 'distribution', 'withdrawal')"
PAYOUT_KINDS = "kind IN ('refund', 'distribution', 'withdrawal', 'in_kind')"
EVENT_KINDS_BEFORE = "kind IN ('repayment', 'return', 'sale', 'write_off')"
EVENT_KINDS = "kind IN ('repayment', 'return', 'sale', 'write_off', 'handover')"


def upgrade():
    # Clubs keep the default: a leaver is paid in cash only.
    with op.batch_alter_table('charter', schema=None) as batch_op:
        batch_op.add_column(sa.Column('exit_in_kind', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('payout', schema=None) as batch_op:
        batch_op.add_column(sa.Column('investment_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('stake_hundredths', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_payout_investment_id_investment'), 'investment',
                                    ['investment_id'], ['id'])
        batch_op.drop_constraint(op.f('ck_payout_kind_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_payout_kind_valid'), PAYOUT_KINDS)
        batch_op.create_check_constraint(
            op.f('ck_payout_shares_in_kind'),
            "(kind = 'in_kind' AND investment_id IS NOT NULL AND stake_hundredths IS NOT NULL) OR "
            "(kind <> 'in_kind' AND investment_id IS NULL AND stake_hundredths IS NULL)")
        batch_op.create_check_constraint(op.f('ck_payout_stake_range'),
                                         'stake_hundredths IS NULL OR stake_hundredths BETWEEN 1 AND 10000')

    with op.batch_alter_table('investment_event', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_investment_event_kind_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_investment_event_kind_valid'), EVENT_KINDS)


def downgrade():
    with op.batch_alter_table('investment_event', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_investment_event_kind_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_investment_event_kind_valid'), EVENT_KINDS_BEFORE)

    with op.batch_alter_table('payout', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_payout_stake_range'), type_='check')
        batch_op.drop_constraint(op.f('ck_payout_shares_in_kind'), type_='check')
        batch_op.drop_constraint(op.f('ck_payout_kind_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_payout_kind_valid'), PAYOUT_KINDS_BEFORE)
        batch_op.drop_constraint(batch_op.f('fk_payout_investment_id_investment'), type_='foreignkey')
        batch_op.drop_column('stake_hundredths')
        batch_op.drop_column('investment_id')

    with op.batch_alter_table('charter', schema=None) as batch_op:
        batch_op.drop_column('exit_in_kind')
