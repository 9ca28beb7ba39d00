"""a member's share passing to an assignee or to heirs: the members' approval (a new kind of ballot) and, for a
sale outside the club, the co-owners' month to buy first (C. civ. art. 815-14)

Revision ID: 0021_share_transfers
Revises: 0020_revaluation
Create Date: 2026-12-12 10:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0021_share_transfers'
down_revision = '0020_revaluation'
branch_labels = None
depends_on = None

KINDS = "'funding', 'admission', 'exclusion', 'election', 'charter', 'renewal', 'stake_sale', 'dissolution'"


def upgrade():
    op.create_table(
        'share_transfer',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('club_id', sa.Integer(), nullable=False),
        sa.Column('from_membership_id', sa.Integer(), nullable=False),
        sa.Column('to_membership_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.String(length=16), nullable=False),
        sa.Column('price', sa.BigInteger(), nullable=True),
        sa.Column('notified_on', sa.Date(), nullable=True),
        sa.Column('preemption_ends_on', sa.Date(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('ballot_id', sa.Integer(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('form_key', sa.String(length=64), nullable=False),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('transaction_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("reason IN ('heir', 'assignment')", name=op.f('ck_share_transfer_reason_valid')),
        sa.CheckConstraint("status IN ('preemption', 'awaiting_vote', 'in_vote', 'done', 'refused', 'withdrawn', "
                           "'preempted')", name=op.f('ck_share_transfer_status_valid')),
        sa.CheckConstraint('price IS NULL OR price > 0', name=op.f('ck_share_transfer_price_positive')),
        sa.CheckConstraint("(reason = 'assignment') = (price IS NOT NULL)",
                           name=op.f('ck_share_transfer_price_for_assignment')),
        sa.CheckConstraint('to_membership_id IS NULL OR to_membership_id <> from_membership_id',
                           name=op.f('ck_share_transfer_not_to_self')),
        sa.ForeignKeyConstraint(['club_id'], ['club.id'], name=op.f('fk_share_transfer_club_id_club')),
        sa.ForeignKeyConstraint(['from_membership_id'], ['membership.id'],
                                name=op.f('fk_share_transfer_from_membership_id_membership')),
        sa.ForeignKeyConstraint(['to_membership_id'], ['membership.id'],
                                name=op.f('fk_share_transfer_to_membership_id_membership')),
        sa.ForeignKeyConstraint(['ballot_id'], ['ballot.id'], name=op.f('fk_share_transfer_ballot_id_ballot')),
        sa.ForeignKeyConstraint(['created_by_id'], ['membership.id'],
                                name=op.f('fk_share_transfer_created_by_id_membership')),
        sa.ForeignKeyConstraint(['transaction_id'], ['journal_transaction.id'],
                                name=op.f('fk_share_transfer_transaction_id_journal_transaction')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_share_transfer')),
        sa.UniqueConstraint('club_id', 'form_key', name=op.f('uq_share_transfer_club_id_form_key')),
        sa.UniqueConstraint('transaction_id', name=op.f('uq_share_transfer_transaction_id')),
    )
    op.create_index('ix_share_transfer_club_status', 'share_transfer', ['club_id', 'status'], unique=False)
    op.create_index('ix_share_transfer_from', 'share_transfer', ['club_id', 'from_membership_id'], unique=False)
    op.create_table(
        'preemption_claim',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('transfer_id', sa.Integer(), nullable=False),
        sa.Column('membership_id', sa.Integer(), nullable=False),
        sa.Column('claimed_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['transfer_id'], ['share_transfer.id'],
                                name=op.f('fk_preemption_claim_transfer_id_share_transfer')),
        sa.ForeignKeyConstraint(['membership_id'], ['membership.id'],
                                name=op.f('fk_preemption_claim_membership_id_membership')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_preemption_claim')),
        sa.UniqueConstraint('transfer_id', 'membership_id',
                            name=op.f('uq_preemption_claim_transfer_id_membership_id')),
    )
    # Passing a member's share on becomes a kind of decision (the charter's membership threshold, R7).
    with op.batch_alter_table('ballot', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_ballot_kind_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_ballot_kind_valid'), f"kind IN ({KINDS}, 'transfer')")


def downgrade():
    with op.batch_alter_table('ballot', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_ballot_kind_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_ballot_kind_valid'), f"kind IN ({KINDS})")
    op.drop_table('preemption_claim')
    op.drop_index('ix_share_transfer_from', table_name='share_transfer')
    op.drop_index('ix_share_transfer_club_status', table_name='share_transfer')
    op.drop_table('share_transfer')
