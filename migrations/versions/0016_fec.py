"""FEC export: the club's French chart of accounts (PCG) numbers, as the treasurer adjusts them

Revision ID: 0016_fec
Revises: 0015_year_end
Create Date: 2026-12-03 10:00:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0016_fec'
down_revision = '0015_year_end'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'pcg_mapping',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('club_id', sa.Integer(), nullable=False),
        sa.Column('pattern', sa.String(length=40), nullable=False),
        sa.Column('number', sa.String(length=12), nullable=False),
        sa.Column('label', sa.String(length=120), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('length(number) BETWEEN 3 AND 12', name=op.f('ck_pcg_mapping_number_length')),
        sa.ForeignKeyConstraint(['club_id'], ['club.id'], name=op.f('fk_pcg_mapping_club_id_club')),
        sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id'],
                                name=op.f('fk_pcg_mapping_updated_by_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pcg_mapping')),
        sa.UniqueConstraint('club_id', 'pattern', name=op.f('uq_pcg_mapping_club_id_pattern')),
    )


def downgrade():
    op.drop_table('pcg_mapping')
