"""secret ballots: a ballot box with no voter, sealed proxy votes, choices counted at the close

Revision ID: 0013_ballot_box
Revises: 0012_chain_key
Create Date: 2026-12-03 09:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0013_ballot_box'
down_revision = '0012_chain_key'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'ballot_choice',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ballot_id', sa.Integer(), nullable=False),
        sa.Column('option_id', sa.Integer(), nullable=False),
        sa.Column('value', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['ballot_id'], ['ballot.id'], name=op.f('fk_ballot_choice_ballot_id_ballot')),
        sa.ForeignKeyConstraint(['option_id'], ['ballot_option.id'],
                                name=op.f('fk_ballot_choice_option_id_ballot_option')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ballot_choice')),
    )
    op.create_index('ix_ballot_choice_ballot', 'ballot_choice', ['ballot_id'], unique=False)
    op.create_table(
        'sealed_vote',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ballot_id', sa.Integer(), nullable=False),
        sa.Column('voter_id', sa.Integer(), nullable=False),
        sa.Column('sealed', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['ballot_id'], ['ballot.id'], name=op.f('fk_sealed_vote_ballot_id_ballot')),
        sa.ForeignKeyConstraint(['voter_id'], ['membership.id'], name=op.f('fk_sealed_vote_voter_id_membership')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sealed_vote')),
        sa.UniqueConstraint('ballot_id', 'voter_id', name=op.f('uq_sealed_vote_ballot_id_voter_id')),
    )
    # Ballots open now kept running counts. A secret one's counts become its box (the same choices, one
    # row each, sorted; a proxy's vote already counted stays in it, as final as before); an open one's are
    # its named votes again. Counts are written at the close from now on.
    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT c.ballot_id, c.option_id, c.value, c.count FROM ballot_count c "
        "JOIN ballot b ON b.id = c.ballot_id JOIN ballot_option o ON o.id = c.option_id "
        "WHERE b.status = 'open' AND b.secret AND c.count > 0 ORDER BY c.ballot_id, o.position, c.value")).all()
    box = [{"ballot_id": b, "option_id": o, "value": v} for b, o, v, n in rows for _ in range(n)]
    if box:
        conn.execute(sa.text("INSERT INTO ballot_choice (ballot_id, option_id, value) "
                             "VALUES (:ballot_id, :option_id, :value)"), box)
    conn.execute(sa.text("DELETE FROM ballot_count WHERE ballot_id IN (SELECT id FROM ballot WHERE status = 'open')"))


#: Each method's scale, as the revision found it (running counts had a row for every value).
SCALES = {"yes_no": (1, -1, 0), "consent": (1, -1, 0), "judgment": (0, 1, 2, 3, 4, 5), "approval": (1, 0)}


def downgrade():
    # Back to running counts for the ballots still open, from the box and the named votes. Sealed proxy
    # votes cannot be opened here (the key is not in the database): they are lost, and their voters'
    # participation with them.
    conn = op.get_bind()
    chosen = {}
    for ballot_id, option_id, value in conn.execute(sa.text(
            "SELECT ballot_id, option_id, value FROM ballot_choice UNION ALL "
            "SELECT v.ballot_id, v.option_id, v.value FROM ballot_vote v JOIN ballot b ON b.id = v.ballot_id "
            "WHERE b.status = 'open'")).all():
        chosen[option_id, value] = chosen.get((option_id, value), 0) + 1
    grid = [{"ballot_id": b, "option_id": o, "value": v, "count": chosen.get((o, v), 0)}
            for b, o, method in conn.execute(sa.text(
                "SELECT b.id, o.id, b.method FROM ballot b JOIN ballot_option o ON o.ballot_id = b.id "
                "WHERE b.status = 'open' ORDER BY b.id, o.position")).all()
            for v in SCALES[method]]
    if grid:
        conn.execute(sa.text("INSERT INTO ballot_count (ballot_id, option_id, value, count) "
                             "VALUES (:ballot_id, :option_id, :value, :count)"), grid)
    conn.execute(sa.text("UPDATE ballot_voter SET voted = false, cast_by_id = NULL WHERE (ballot_id, membership_id) "
                         "IN (SELECT ballot_id, voter_id FROM sealed_vote)"))
    op.drop_table('sealed_vote')
    op.drop_index('ix_ballot_choice_ballot', table_name='ballot_choice')
    op.drop_table('ballot_choice')
