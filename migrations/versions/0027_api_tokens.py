"""personal access tokens for the JSON API (/api/v1): a member's key to one club, to read or to write, kept as
the SHA-256 digest of its secret with a short prefix to recognise it

A club-owned table like the others since 0025: primary key (id, club_id) (on SQLite the one-column key with the
unique key (id, club_id) beside it, coop/models/base.py), foreign keys to the member with the club; on Citus
migrations/env.py distributes it by club_id after the upgrade.

Revision ID: 0027_api_tokens
Revises: 0026_partnerships
Create Date: 2026-12-03 22:30:00

"""
import sqlalchemy as sa
from alembic import op

from coop import citus


# revision identifiers, used by Alembic.
revision = '0027_api_tokens'
down_revision = '0026_partnerships'
branch_labels = None
depends_on = None


def upgrade():
    keys = citus.NewTableKeys(op.get_bind())  # keys into distributed tables, on an install already distributed
    op.create_table(
        'api_token',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('club_id', sa.Integer(), nullable=False),
        sa.Column('membership_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('scope', sa.String(length=8), nullable=False),
        sa.Column('prefix', sa.String(length=24), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=True),
        sa.Column('last_used_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("scope IN ('read', 'write')", name=op.f('ck_api_token_scope_valid')),
        sa.CheckConstraint('length(secret_hash) = 64', name=op.f('ck_api_token_secret_hash_length')),
        *keys.to('api_token', ['club_id'], 'club', ['id'], op.f('fk_api_token_club_id_club')),
        *keys.to('api_token', ['membership_id', 'club_id'], 'membership', ['id', 'club_id'],
                 op.f('fk_api_token_membership_id_membership')),
        *keys.to('api_token', ['revoked_by_id', 'club_id'], 'membership', ['id', 'club_id'],
                 op.f('fk_api_token_revoked_by_id_membership')),
        sa.PrimaryKeyConstraint('id', 'club_id', name=op.f('pk_api_token')),
        sa.UniqueConstraint('club_id', 'secret_hash', name=op.f('uq_api_token_club_id_secret_hash')),
    )
    op.create_index('ix_api_token_membership', 'api_token', ['club_id', 'membership_id'], unique=False)
    keys.finish(op)


def downgrade():
    op.drop_index('ix_api_token_membership', table_name='api_token')
    op.drop_table('api_token')
