"""The migrations build exactly the schema the models describe, with the append-only triggers, and run both ways."""
from __future__ import annotations

import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from coop.extensions import db
from coop.models.base import in_schema_comparison
from coop.services import ledger

TRIGGERS = {f"{table}.{table}_no_{action}" for table in ("journal_transaction", "posting")
            for action in ("update", "delete")}


def schema_diff() -> list:
    db.session.remove()
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                               "compare_server_default": False,
                                                               "include_object": in_schema_comparison})
        return compare_metadata(context, db.metadata)


def test_migrated_schema_matches_the_models(app):
    assert schema_diff() == []


def test_append_only_triggers_installed(app):
    assert TRIGGERS <= ledger._triggers_present()
    assert ledger.check() == []


def test_head_revision_applied(app):
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config()).get_current_head()
    db.session.remove()
    with db.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head


def test_downgrade_to_base_and_upgrade_again(app, backend):
    db.session.remove()
    flask_migrate.downgrade(revision="base")
    db.engine.dispose()
    with db.engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
    assert TRIGGERS.isdisjoint(ledger._triggers_present())
    db.session.remove()

    flask_migrate.upgrade()
    db.engine.dispose()
    assert schema_diff() == []
    assert TRIGGERS <= ledger._triggers_present()
    assert ledger.check() == []
