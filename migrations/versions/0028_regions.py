"""regional associations of clubs: the association and its coordinators (no club's: Citus reference tables), each
club's membership of it (club-owned), and joining one as a new kind of ballot (issue 19, docs/regions.md)

Revision ID: 0028_regions
Revises: 0027_api_tokens
Create Date: 2026-12-03 22:30:00

"""
import sqlalchemy as sa
from alembic import op

from coop import citus


# revision identifiers, used by Alembic.
revision = '0028_regions'
down_revision = '0027_api_tokens'
branch_labels = None
depends_on = None

KINDS = ("'funding', 'admission', 'exclusion', 'election', 'charter', 'renewal', 'stake_sale', 'dissolution', "
         "'accounts', 'transfer', 'partnership'")


def _sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


def _club_keys(table: str) -> list:
    """A club-owned table's keys (coop/models/base.py): (id, club_id) on PostgreSQL; on SQLite the one-column
    key (id) that numbers the rows, and (id, club_id) unique beside it for the foreign keys to point to."""
    if _sqlite():
        return [sa.PrimaryKeyConstraint('id', name=f'pk_{table}'),
                sa.UniqueConstraint('id', 'club_id', name=f'uq_{table}_id_club_id')]
    return [sa.PrimaryKeyConstraint('id', 'club_id', name=f'pk_{table}')]


def upgrade():
    keys = citus.NewTableKeys(op.get_bind())  # keys into distributed tables, on an install already distributed
    op.create_table(
        'region',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('description', sa.String(length=500), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_region')),
        sa.UniqueConstraint('name', name=op.f('uq_region_name')),
    )
    op.create_table(
        'region_coordinator',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('region_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('added_by_id', sa.Integer(), nullable=True),
        sa.Column('added_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_region_coordinator_region_id_region')),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'],
                                name=op.f('fk_region_coordinator_user_id_user_account')),
        sa.ForeignKeyConstraint(['added_by_id'], ['user_account.id'],
                                name=op.f('fk_region_coordinator_added_by_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_region_coordinator')),
        sa.UniqueConstraint('region_id', 'user_id', name=op.f('uq_region_coordinator_region_id_user_id')),
    )
    op.create_index('ix_region_coordinator_user', 'region_coordinator', ['user_id'], unique=False)
    op.create_table(
        'region_member',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),  # numbered by its own sequence
        sa.Column('club_id', sa.Integer(), nullable=False),
        sa.Column('region_id', sa.Integer(), nullable=False),
        sa.Column('ballot_id', sa.Integer(), nullable=False),
        sa.Column('joined_at', sa.DateTime(), nullable=False),
        sa.Column('left_at', sa.DateTime(), nullable=True),
        sa.Column('left_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['region_id'], ['region.id'], name=op.f('fk_region_member_region_id_region')),
        *keys.to('region_member', ['club_id'], 'club', ['id'], 'fk_region_member_club_id_club'),
        *keys.to('region_member', ['ballot_id', 'club_id'], 'ballot', ['id', 'club_id'], 'fk_region_member_ballot_id_ballot'),
        sa.ForeignKeyConstraint(['left_by_id'], ['user_account.id'],
                                name=op.f('fk_region_member_left_by_id_user_account')),
        *_club_keys('region_member'),
    )
    op.create_index('ix_region_member_club', 'region_member', ['club_id', 'region_id'], unique=False)
    op.create_index('ix_region_member_region', 'region_member', ['region_id'], unique=False)

    # Joining an association becomes a kind of decision (the charter's ordinary threshold, R7).
    with op.batch_alter_table('ballot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region_id', sa.Integer(), nullable=True))
        if not keys.distributed:
            batch_op.create_foreign_key('fk_ballot_region_id_region', 'region', ['region_id'], ['id'])
        batch_op.drop_constraint(op.f('ck_ballot_kind_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_ballot_kind_valid'), f"kind IN ({KINDS}, 'region')")

    if keys.distributed:  # the association is a reference table: made after it is one, like the club keys
        keys.later.append(('fk_ballot_region_id_region', 'ballot', 'region', ['region_id'], ['id']))
    keys.finish(op)


def downgrade():
    op.execute("DELETE FROM region_member")
    with op.batch_alter_table('ballot', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_ballot_kind_valid'), type_='check')
        batch_op.create_check_constraint(op.f('ck_ballot_kind_valid'), f"kind IN ({KINDS})")
        batch_op.drop_constraint('fk_ballot_region_id_region', type_='foreignkey')
        batch_op.drop_column('region_id')
    op.drop_index('ix_region_member_region', table_name='region_member')
    op.drop_index('ix_region_member_club', table_name='region_member')
    op.drop_table('region_member')
    op.drop_index('ix_region_coordinator_user', table_name='region_coordinator')
    op.drop_table('region_coordinator')
    op.drop_table('region')
