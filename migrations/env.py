"""Alembic environment, run through Flask-Migrate (`flask db …`)."""
import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

from coop import citus
from coop.models.base import in_schema_comparison

config = context.config
if config.config_file_name and not logging.getLogger().handlers:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

migrate_ext = current_app.extensions["migrate"]
target_metadata = migrate_ext.db.metadata
engine = migrate_ext.db.engine
config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))


def run_migrations_offline():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, **migrate_ext.configure_args)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def skip_empty(context_, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    conf_args = dict(migrate_ext.configure_args)
    conf_args.setdefault("include_object", in_schema_comparison)
    conf_args.setdefault("process_revision_directives", skip_empty)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite changes a table's keys by building it anew (batch mode): its foreign keys must be off
            # meanwhile (the old table is dropped under its children's feet), which only works outside a
            # transaction; they are checked once everything is done.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        context.configure(connection=connection, target_metadata=target_metadata, **conf_args)
        try:
            with context.begin_transaction():
                context.run_migrations()
            if not sqlite:
                # On a Citus coordinator every table a migration made is then distributed by club (or made a
                # reference table), in a transaction of its own: Citus copies a new table's sequence to the
                # workers, which it cannot do for a sequence made in the same transaction.
                with connection.begin():
                    if citus.is_citus(connection):
                        for line in citus.distribute(connection):
                            logger.info("Citus: %s", line)
            if sqlite:
                broken = connection.connection.driver_connection.execute("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"foreign keys broken by the migration: {broken[:10]}")
        finally:
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
