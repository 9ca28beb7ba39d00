"""general meetings: the meeting, its attendance and minutes; agenda items are ballots of the meeting; the
accounts of a closed year are approved by a ballot of their own; the charter's notice and meeting quorum (R14)

Revision ID: 0022_meetings
Revises: 0021_share_transfers
Create Date: 2026-12-12 10:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0022_meetings'
down_revision = '0021_share_transfers'
branch_labels = None
depends_on = None

KINDS = ("'funding', 'admission', 'exclusion', 'election', 'charter', 'renewal', 'stake_sale', 'dissolution', "
         "'transfer'")


def upgrade():
    op.create_table(
        'meeting',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('club_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('details', sa.Text(), nullable=False),
        sa.Column('scheduled_at', sa.DateTime(), nullable=False),
        sa.Column('place', sa.String(length=200), nullable=False),
        sa.Column('video_link', sa.String(length=500), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('convened_by_id', sa.Integer(), nullable=False),
        sa.Column('convened_at', sa.DateTime(), nullable=False),
        sa.Column('opened_at', sa.DateTime(), nullable=True),
        sa.Column('opened_by_id', sa.Integer(), nullable=True),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.Column('cancel_reason', sa.String(length=300), nullable=True),
        sa.Column('quorum_percent', sa.Integer(), nullable=True),
        sa.Column('max_proxies', sa.Integer(), nullable=True),
        sa.Column('eligible_count', sa.Integer(), nullable=True),
        sa.Column('quorum_met', sa.Boolean(), nullable=True),
        sa.Column('chair_id', sa.Integer(), nullable=True),
        sa.Column('secretary_id', sa.Integer(), nullable=True),
        sa.Column('minutes', sa.Text(), nullable=False),
        sa.Column('secretary_signed_at', sa.DateTime(), nullable=True),
        sa.Column('chair_signed_at', sa.DateTime(), nullable=True),
        sa.CheckConstraint("kind IN ('ordinary', 'extraordinary')", name=op.f('ck_meeting_kind_valid')),
        sa.CheckConstraint("status IN ('planned', 'in_session', 'closed', 'cancelled')",
                           name=op.f('ck_meeting_status_valid')),
        sa.CheckConstraint("place <> '' OR video_link <> ''", name=op.f('ck_meeting_place_or_link')),
        sa.CheckConstraint('quorum_percent IS NULL OR quorum_percent BETWEEN 1 AND 100',
                           name=op.f('ck_meeting_quorum_range')),
        sa.CheckConstraint('chair_id IS NULL OR secretary_id IS NULL OR chair_id <> secretary_id',
                           name=op.f('ck_meeting_two_signers')),
        sa.CheckConstraint('chair_signed_at IS NULL OR secretary_signed_at IS NOT NULL',
                           name=op.f('ck_meeting_secretary_signs_first')),
        sa.ForeignKeyConstraint(['club_id'], ['club.id'], name=op.f('fk_meeting_club_id_club')),
        sa.ForeignKeyConstraint(['convened_by_id'], ['user_account.id'],
                                name=op.f('fk_meeting_convened_by_id_user_account')),
        sa.ForeignKeyConstraint(['opened_by_id'], ['user_account.id'],
                                name=op.f('fk_meeting_opened_by_id_user_account')),
        sa.ForeignKeyConstraint(['chair_id'], ['membership.id'], name=op.f('fk_meeting_chair_id_membership')),
        sa.ForeignKeyConstraint(['secretary_id'], ['membership.id'],
                                name=op.f('fk_meeting_secretary_id_membership')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting')),
    )
    op.create_index('ix_meeting_club', 'meeting', ['club_id', 'scheduled_at'], unique=False)

    op.create_table(
        'meeting_attendance',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('meeting_id', sa.Integer(), nullable=False),
        sa.Column('membership_id', sa.Integer(), nullable=False),
        sa.Column('presence', sa.String(length=16), nullable=False),
        sa.Column('holder_id', sa.Integer(), nullable=True),
        sa.Column('changed_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("presence IN ('present', 'represented', 'absent')",
                           name=op.f('ck_meeting_attendance_presence_valid')),
        sa.CheckConstraint("(presence = 'represented' AND holder_id IS NOT NULL) OR "
                           "(presence <> 'represented' AND holder_id IS NULL)",
                           name=op.f('ck_meeting_attendance_holder_if_represented')),
        sa.CheckConstraint('holder_id IS NULL OR holder_id <> membership_id',
                           name=op.f('ck_meeting_attendance_not_own_holder')),
        sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_meeting_attendance_meeting_id_meeting')),
        sa.ForeignKeyConstraint(['membership_id'], ['membership.id'],
                                name=op.f('fk_meeting_attendance_membership_id_membership')),
        sa.ForeignKeyConstraint(['holder_id'], ['membership.id'],
                                name=op.f('fk_meeting_attendance_holder_id_membership')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_attendance')),
        sa.UniqueConstraint('meeting_id', 'membership_id', name=op.f('uq_meeting_attendance_meeting_id_membership_id')),
    )
    op.create_index('ix_meeting_attendance_holder', 'meeting_attendance', ['meeting_id', 'holder_id'], unique=False)

    with op.batch_alter_table('ballot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('year', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('meeting_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_ballot_meeting_id_meeting'), 'meeting', ['meeting_id'], ['id'])
        batch_op.create_index('ix_ballot_meeting', ['meeting_id'], unique=False)
        # Approving a closed year's accounts becomes a kind of decision (R14: majority of votes cast).
        batch_op.drop_constraint(op.f('ck_ballot_kind_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_ballot_kind_valid'), f"kind IN ({KINDS}, 'accounts')")

    # Clubs keep the defaults: convened 15 days ahead, half the active members present or represented.
    with op.batch_alter_table('charter', schema=None) as batch_op:
        batch_op.add_column(sa.Column('meeting_notice_days', sa.Integer(), server_default='15', nullable=False))
        batch_op.add_column(sa.Column('meeting_quorum_percent', sa.Integer(), server_default='50', nullable=False))
        batch_op.create_check_constraint(op.f('ck_charter_meeting_quorum_range'),
                                         'meeting_quorum_percent BETWEEN 1 AND 100')

    with op.batch_alter_table('year_end', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approval_ballot_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('approved_at', sa.DateTime(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_year_end_approval_ballot_id_ballot'), 'ballot',
                                    ['approval_ballot_id'], ['id'])


def downgrade():
    with op.batch_alter_table('year_end', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_year_end_approval_ballot_id_ballot'), type_='foreignkey')
        batch_op.drop_column('approved_at')
        batch_op.drop_column('approval_ballot_id')

    with op.batch_alter_table('charter', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_charter_meeting_quorum_range'), type_='check')
        batch_op.drop_column('meeting_quorum_percent')
        batch_op.drop_column('meeting_notice_days')

    with op.batch_alter_table('ballot', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_ballot_kind_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_ballot_kind_valid'), f"kind IN ({KINDS})")
        batch_op.drop_index('ix_ballot_meeting')
        batch_op.drop_constraint(batch_op.f('fk_ballot_meeting_id_meeting'), type_='foreignkey')
        batch_op.drop_column('meeting_id')
        batch_op.drop_column('year')

    op.drop_index('ix_meeting_attendance_holder', table_name='meeting_attendance')
    op.drop_table('meeting_attendance')
    op.drop_index('ix_meeting_club', table_name='meeting')
    op.drop_table('meeting')
