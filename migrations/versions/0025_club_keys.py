"""every club's row carries the club in its keys: club_id in every club-owned table, primary keys (id, club_id),
foreign keys between club-owned tables (x_id, club_id) → (id, club_id), unique keys with club_id; so the database
refuses a row that points into another club, and Citus can distribute every table by club_id (docs/scaling.md)

The tables that had no club_id get it from their parent row. Changes outside any club (audit entries of a
registration, the form keys of a club being created) take club_id 0, which no club has.

SQLite numbers rows through a one-column integer primary key: there a club-owned table keeps its primary key
(id) and has the unique key (id, club_id) beside it, that the foreign keys point to (coop/models/base.py).

Revision ID: 0025_club_keys
Revises: 0024_in_kind
Create Date: 2026-12-15 10:00:00

"""
import contextlib
import warnings

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0025_club_keys'
down_revision = '0024_in_kind'
branch_labels = None
depends_on = None

#: Tables of people, not of a club, and the club itself: keys unchanged.
UNSCOPED = {'club', 'user_account', 'password_reset', 'rate_count', 'alembic_version'}
#: Tables that had no club_id: where each row's club is read.
FROM_PARENT = {
    'ballot_option': ('ballot', 'ballot_id'),
    'ballot_voter': ('ballot', 'ballot_id'),
    'ballot_count': ('ballot', 'ballot_id'),
    'ballot_choice': ('ballot', 'ballot_id'),
    'ballot_vote': ('ballot', 'ballot_id'),
    'proxy': ('ballot', 'ballot_id'),
    'sealed_vote': ('ballot', 'ballot_id'),
    'closing_balance': ('period_close', 'period_close_id'),
    'project_link': ('project', 'project_id'),
    'meeting_attendance': ('meeting', 'meeting_id'),
    'preemption_claim': ('share_transfer', 'transfer_id'),
}
#: Primary keys that are not (id): before and after.
OTHER_KEYS = {
    'ledger_head': (['club_id'], ['club_id']),
    'closing_balance': (['period_close_id', 'account_id'], ['period_close_id', 'account_id', 'club_id']),
    'used_form_key': (['key'], ['key', 'club_id']),
}
OUTSIDE_CLUBS = 0


def _tables(bind) -> list[str]:
    return sorted(set(sa.inspect(bind).get_table_names()) - UNSCOPED)


def _sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


def _unique_name(table: str, columns: list[str]) -> str:
    return f"uq_{table}_{'_'.join(columns)}"


def _plan(bind, scoped: bool) -> dict:
    """What each table's keys are now, and what they become: read from the database, so that the rule is applied
    to every table as it stands (``scoped``: the database already has the club keys; give the keys before)."""
    inspector = sa.inspect(bind)
    tables = _tables(bind)
    plan = {}
    for table in tables:
        fks = []
        for fk in inspector.get_foreign_keys(table):
            referred = fk['referred_table']
            if referred in UNSCOPED:
                continue
            column = fk['constrained_columns'][0]
            fks.append({'name': fk['name'], 'column': column, 'referred': referred})
        uniques = []
        for uq in inspector.get_unique_constraints(table):
            columns = uq['column_names']
            if uq['name'] == f'uq_{table}_id_club_id':
                continue
            if not scoped and 'club_id' not in columns:
                uniques.append((uq['name'], columns, [*columns, 'club_id']))
            elif scoped and columns[-1] == 'club_id' and columns[0] != 'club_id':
                uniques.append((uq['name'], columns, columns[:-1]))
        plan[table] = {'fks': fks, 'uniques': uniques}
    return plan


def upgrade():
    bind = op.get_bind()
    # 1. club_id where it was missing, from the parent row.
    for table, (parent, column) in FROM_PARENT.items():
        op.add_column(table, sa.Column('club_id', sa.Integer(), nullable=True))
        op.execute(f"UPDATE {table} SET club_id = (SELECT {parent}.club_id FROM {parent} "
                   f"WHERE {parent}.id = {table}.{column})")
    op.add_column('used_form_key', sa.Column('club_id', sa.Integer(), nullable=True))
    op.execute(f"UPDATE used_form_key SET club_id = {OUTSIDE_CLUBS}")
    if not _sqlite():  # (SQLite: dropped as the table is built anew)
        op.drop_constraint('fk_audit_entry_club_id_club', 'audit_entry', type_='foreignkey')
    op.execute(f"UPDATE audit_entry SET club_id = {OUTSIDE_CLUBS} WHERE club_id IS NULL")

    plan = _plan(bind, scoped=False)
    if _sqlite():
        _upgrade_sqlite(plan)
    else:
        _upgrade_postgresql(plan)


def _upgrade_postgresql(plan: dict) -> None:
    for table in [*FROM_PARENT, 'used_form_key', 'audit_entry']:
        op.alter_column(table, 'club_id', existing_type=sa.Integer(), nullable=False)
    for table in FROM_PARENT:
        op.create_foreign_key(f'fk_{table}_club_id_club', table, 'club', ['club_id'], ['id'])
    for table, steps in plan.items():
        for fk in steps['fks']:
            op.drop_constraint(fk['name'], table, type_='foreignkey')
        for name, _before, _after in steps['uniques']:
            op.drop_constraint(name, table, type_='unique')
    for table in plan:
        columns = OTHER_KEYS.get(table, (['id'], ['id', 'club_id']))[1]
        if table != 'ledger_head':
            op.drop_constraint(f'pk_{table}', table, type_='primary')
            op.create_primary_key(f'pk_{table}', table, columns)
    for table, steps in plan.items():
        for _name, _before, after in steps['uniques']:
            op.create_unique_constraint(_unique_name(table, after), table, after)
    for table, steps in plan.items():
        for fk in steps['fks']:
            op.create_foreign_key(fk['name'], table, fk['referred'], [fk['column'], 'club_id'], ['id', 'club_id'])


def _upgrade_sqlite(plan: dict) -> None:
    # Foreign keys are off while tables are rebuilt (migrations/env.py) and checked once at the end.
    for table, steps in plan.items():
        with _rebuilt(table) as batch_op:
            if table in FROM_PARENT or table in ('used_form_key', 'audit_entry'):
                batch_op.alter_column('club_id', existing_type=sa.Integer(), nullable=False)
            if table == 'audit_entry':
                batch_op.drop_constraint('fk_audit_entry_club_id_club', type_='foreignkey')
            if table in FROM_PARENT:
                batch_op.create_foreign_key(f'fk_{table}_club_id_club', 'club', ['club_id'], ['id'])
            for fk in steps['fks']:
                batch_op.drop_constraint(fk['name'], type_='foreignkey')
            for name, _before, _after in steps['uniques']:
                batch_op.drop_constraint(name, type_='unique')
            if table in OTHER_KEYS:
                if table != 'ledger_head':
                    batch_op.create_primary_key(f'pk_{table}', OTHER_KEYS[table][1])
            else:
                batch_op.create_unique_constraint(f'uq_{table}_id_club_id', ['id', 'club_id'])
            for _name, _before, after in steps['uniques']:
                batch_op.create_unique_constraint(_unique_name(table, after), after)
            for fk in steps['fks']:
                batch_op.create_foreign_key(fk['name'], fk['referred'], [fk['column'], 'club_id'], ['id', 'club_id'])
    _sqlite_append_only_guards()


APPEND_ONLY = ('journal_transaction', 'posting')


def _sqlite_append_only_guards() -> None:
    """SQLite loses a table's triggers when it builds the table anew: the ledger's guards are put back, as the
    first migration wrote them."""
    for table in APPEND_ONLY:
        for action in ('update', 'delete'):
            op.execute(f"CREATE TRIGGER {table}_no_{action} BEFORE {action.upper()} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{table} rows are append-only: record a reversal instead'); END")


@contextlib.contextmanager
def _rebuilt(table: str):
    """The table built anew (SQLite). SQLAlchemy warns that a new primary key differs from the reflected one:
    that is the point."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', sa.exc.SAWarning)
        with op.batch_alter_table(table, recreate='always') as batch_op:
            yield batch_op


def downgrade():
    bind = op.get_bind()
    plan = _plan(bind, scoped=True)
    if _sqlite():
        for table, steps in plan.items():
            with _rebuilt(table) as batch_op:
                for fk in steps['fks']:
                    batch_op.drop_constraint(fk['name'], type_='foreignkey')
                for name, _before, _after in steps['uniques']:
                    batch_op.drop_constraint(name, type_='unique')
                if table in OTHER_KEYS:
                    if table != 'ledger_head':
                        batch_op.create_primary_key(f'pk_{table}', OTHER_KEYS[table][0])
                else:
                    batch_op.drop_constraint(f'uq_{table}_id_club_id', type_='unique')
                for _name, _before, after in steps['uniques']:
                    batch_op.create_unique_constraint(_unique_name(table, after), after)
                for fk in steps['fks']:
                    batch_op.create_foreign_key(fk['name'], fk['referred'], [fk['column']], ['id'])
        _sqlite_append_only_guards()
    else:
        for table, steps in plan.items():
            for fk in steps['fks']:
                op.drop_constraint(fk['name'], table, type_='foreignkey')
            for name, _before, _after in steps['uniques']:
                op.drop_constraint(name, table, type_='unique')
        for table in plan:
            if table != 'ledger_head':
                op.drop_constraint(f'pk_{table}', table, type_='primary')
                op.create_primary_key(f'pk_{table}', table, OTHER_KEYS.get(table, (['id'],))[0])
        for table, steps in plan.items():
            for _name, _before, after in steps['uniques']:
                op.create_unique_constraint(_unique_name(table, after), table, after)
        for table, steps in plan.items():
            for fk in steps['fks']:
                op.create_foreign_key(fk['name'], table, fk['referred'], [fk['column']], ['id'])
    with op.batch_alter_table('audit_entry') as batch_op:
        batch_op.alter_column('club_id', existing_type=sa.Integer(), nullable=True)
    op.execute(f"UPDATE audit_entry SET club_id = NULL WHERE club_id = {OUTSIDE_CLUBS}")
    with op.batch_alter_table('audit_entry') as batch_op:
        batch_op.create_foreign_key('fk_audit_entry_club_id_club', 'club', ['club_id'], ['id'])
    for table in [*FROM_PARENT, 'used_form_key']:
        with op.batch_alter_table(table) as batch_op:
            if table in FROM_PARENT:
                batch_op.drop_constraint(f'fk_{table}_club_id_club', type_='foreignkey')
            batch_op.drop_column('club_id')
