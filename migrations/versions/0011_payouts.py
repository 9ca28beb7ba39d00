"""two officers for money leaving the fund: payouts (refunds, parts at dissolution) wait for approval (R11)

Revision ID: 0011_payouts
Revises: 0010_rate_counts
Create Date: 2026-12-03 06:50:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0011_payouts'
down_revision = '0010_rate_counts'
branch_labels = None
depends_on = None


def upgrade():
    # Refunds and distributions already posted stay as they are: only new ones go through a payout.
    op.create_table(
        'payout',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('club_id', sa.Integer(), nullable=False),
        sa.Column('membership_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('memo', sa.String(length=200), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('form_key', sa.String(length=64), nullable=False),
        sa.Column('entered_by_id', sa.Integer(), nullable=False),
        sa.Column('entered_at', sa.DateTime(), nullable=False),
        sa.Column('approved_by_id', sa.Integer(), nullable=True),
        sa.Column('approved_at', sa.DateTime(), nullable=True),
        sa.Column('cancelled_at', sa.DateTime(), nullable=True),
        sa.Column('cancel_reason', sa.String(length=300), nullable=True),
        sa.Column('transaction_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("kind IN ('refund', 'distribution')", name=op.f('ck_payout_kind_valid')),
        sa.CheckConstraint("status IN ('pending', 'approved', 'cancelled')", name=op.f('ck_payout_status_valid')),
        sa.CheckConstraint('amount > 0', name=op.f('ck_payout_amount_positive')),
        sa.CheckConstraint('approved_by_id IS NULL OR approved_by_id <> entered_by_id',
                           name=op.f('ck_payout_two_people')),
        sa.ForeignKeyConstraint(['club_id'], ['club.id'], name=op.f('fk_payout_club_id_club')),
        sa.ForeignKeyConstraint(['membership_id'], ['membership.id'], name=op.f('fk_payout_membership_id_membership')),
        sa.ForeignKeyConstraint(['entered_by_id'], ['membership.id'], name=op.f('fk_payout_entered_by_id_membership')),
        sa.ForeignKeyConstraint(['approved_by_id'], ['membership.id'],
                                name=op.f('fk_payout_approved_by_id_membership')),
        sa.ForeignKeyConstraint(['transaction_id'], ['journal_transaction.id'],
                                name=op.f('fk_payout_transaction_id_journal_transaction')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payout')),
        sa.UniqueConstraint('club_id', 'form_key', name=op.f('uq_payout_club_id_form_key')),
        sa.UniqueConstraint('transaction_id', name=op.f('uq_payout_transaction_id')),
    )
    op.create_index('ix_payout_club_status', 'payout', ['club_id', 'status'], unique=False)


def downgrade():
    op.drop_index('ix_payout_club_status', table_name='payout')
    op.drop_table('payout')
