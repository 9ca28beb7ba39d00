"""between clubs: partnerships for trading time (agreed by a ballot in each club), each club's side of an
exchange across them, and the relays (each club's outbox) that carry every step to the other club; listings a
club shows to its partners

Revision ID: 0026_partnerships
Revises: 0025_club_keys
Create Date: 2026-12-03 22:11:47

"""
import sqlalchemy as sa
from alembic import op

from coop import citus

KINDS = ("'funding', 'admission', 'exclusion', 'election', 'charter', 'renewal', 'stake_sale', 'dissolution', "
         "'accounts', 'transfer'")


# revision identifiers, used by Alembic.
revision = '0026_partnerships'
down_revision = '0025_club_keys'
branch_labels = None
depends_on = None


def upgrade():
    keys = citus.NewTableKeys(op.get_bind())  # keys into distributed tables, on an install already distributed
    op.create_table('relay',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('club_id', sa.Integer(), nullable=False),
    sa.Column('to_club_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('delivered_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'delivered')", name=op.f('ck_relay_status_valid')),
    *keys.to('relay', ['club_id'], 'club', ['id'], op.f('fk_relay_club_id_club')),
    sa.PrimaryKeyConstraint('id', 'club_id', name=op.f('pk_relay')),
    sa.UniqueConstraint('club_id', 'key', name=op.f('uq_relay_club_id_key'))
    )
    with op.batch_alter_table('relay', schema=None) as batch_op:
        batch_op.create_index('ix_relay_pending', ['status', 'next_attempt_at'], unique=False)

    op.create_table('partnership',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('club_id', sa.Integer(), nullable=False),
    sa.Column('partner_club_id', sa.Integer(), nullable=False),
    sa.Column('partner_name', sa.String(length=120), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('limit_minutes', sa.Integer(), nullable=False),
    sa.Column('proposed_here', sa.Boolean(), nullable=False),
    sa.Column('ballot_id', sa.Integer(), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('suspended_here_at', sa.DateTime(), nullable=True),
    sa.Column('suspended_there_at', sa.DateTime(), nullable=True),
    sa.Column('chain_head', sa.String(length=64), nullable=False),
    sa.Column('chain_length', sa.Integer(), nullable=False),
    sa.Column('last_relay_in', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('active_since', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('draft', 'proposed', 'offered', 'active', 'refused')", name=op.f('ck_partnership_status_valid')),
    sa.CheckConstraint('limit_minutes > 0', name=op.f('ck_partnership_limit_positive')),
    sa.CheckConstraint('partner_club_id <> club_id', name=op.f('ck_partnership_two_clubs')),
    *keys.to('partnership', ['account_id', 'club_id'], 'account', ['id', 'club_id'], op.f('fk_partnership_account_id_account')),
    *keys.to('partnership', ['ballot_id', 'club_id'], 'ballot', ['id', 'club_id'], op.f('fk_partnership_ballot_id_ballot')),
    *keys.to('partnership', ['club_id'], 'club', ['id'], op.f('fk_partnership_club_id_club')),
    sa.PrimaryKeyConstraint('id', 'club_id', name=op.f('pk_partnership')),
    sa.UniqueConstraint('club_id', 'partner_club_id', name=op.f('uq_partnership_club_id_partner_club_id')),
    sa.UniqueConstraint('club_id', 'uuid', name=op.f('uq_partnership_club_id_uuid'))
    )
    op.create_table('cross_exchange',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('club_id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('partnership_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('partner_member_id', sa.Integer(), nullable=False),
    sa.Column('partner_member_name', sa.String(length=120), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('done_on', sa.Date(), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('recorded_here', sa.Boolean(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('transaction_id', sa.Integer(), nullable=True),
    sa.Column('reversal_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=300), nullable=True),
    sa.Column('chain_hash', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("direction IN ('given', 'received')", name=op.f('ck_cross_exchange_direction_valid')),
    sa.CheckConstraint("state IN ('pending', 'committed', 'completed', 'undoing', 'erased')", name=op.f('ck_cross_exchange_state_valid')),
    sa.CheckConstraint('minutes > 0', name=op.f('ck_cross_exchange_minutes_positive')),
    *keys.to('cross_exchange', ['club_id'], 'club', ['id'], op.f('fk_cross_exchange_club_id_club')),
    *keys.to('cross_exchange', ['member_id', 'club_id'], 'membership', ['id', 'club_id'], op.f('fk_cross_exchange_member_id_membership')),
    sa.ForeignKeyConstraint(['partnership_id', 'club_id'], ['partnership.id', 'partnership.club_id'], name=op.f('fk_cross_exchange_partnership_id_partnership')),
    *keys.to('cross_exchange', ['reversal_id', 'club_id'], 'journal_transaction', ['id', 'club_id'], op.f('fk_cross_exchange_reversal_id_journal_transaction')),
    *keys.to('cross_exchange', ['transaction_id', 'club_id'], 'journal_transaction', ['id', 'club_id'], op.f('fk_cross_exchange_transaction_id_journal_transaction')),
    sa.PrimaryKeyConstraint('id', 'club_id', name=op.f('pk_cross_exchange')),
    sa.UniqueConstraint('club_id', 'uuid', name=op.f('uq_cross_exchange_club_id_uuid')),
    sa.UniqueConstraint('reversal_id', 'club_id', name=op.f('uq_cross_exchange_reversal_id_club_id')),
    sa.UniqueConstraint('transaction_id', 'club_id', name=op.f('uq_cross_exchange_transaction_id_club_id'))
    )
    with op.batch_alter_table('cross_exchange', schema=None) as batch_op:
        batch_op.create_index('ix_cross_exchange_member', ['club_id', 'member_id'], unique=False)
        batch_op.create_index('ix_cross_exchange_partnership', ['club_id', 'partnership_id', 'id'], unique=False)

    with op.batch_alter_table('ballot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('partnership_id', sa.Integer(), nullable=True))
        if not keys.distributed:
            batch_op.create_foreign_key(batch_op.f('fk_ballot_partnership_id_partnership'), 'partnership',
                                        ['partnership_id', 'club_id'], ['id', 'club_id'])
        # Trading time with another club becomes a kind of decision.
        batch_op.drop_constraint(op.f('ck_ballot_kind_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_ballot_kind_valid'), f"kind IN ({KINDS}, 'partnership')")

    with op.batch_alter_table('listing', schema=None) as batch_op:
        batch_op.add_column(sa.Column('partners_see', sa.Boolean(), server_default=sa.false(), nullable=False))

    if keys.distributed:
        keys.later.append(('fk_ballot_partnership_id_partnership', 'ballot', 'partnership',
                           ['partnership_id', 'club_id'], ['id', 'club_id']))
    keys.finish(op)



def downgrade():
    with op.batch_alter_table('listing', schema=None) as batch_op:
        batch_op.drop_column('partners_see')

    with op.batch_alter_table('ballot', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_ballot_kind_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_ballot_kind_valid'), f"kind IN ({KINDS})")
        batch_op.drop_constraint(batch_op.f('fk_ballot_partnership_id_partnership'), type_='foreignkey')
        batch_op.drop_column('partnership_id')

    with op.batch_alter_table('cross_exchange', schema=None) as batch_op:
        batch_op.drop_index('ix_cross_exchange_partnership')
        batch_op.drop_index('ix_cross_exchange_member')

    op.drop_table('cross_exchange')
    op.drop_table('partnership')
    with op.batch_alter_table('relay', schema=None) as batch_op:
        batch_op.drop_index('ix_relay_pending')

    op.drop_table('relay')
