"""``flask coop …``: administration commands. Each calls the services."""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from . import citus
from .database import refresh_statistics, scrub
from .extensions import db
from .services import ballots, clubs, fund, investments, ledger, meetings, partners, timebank, transfers
from .services.demo import DEMO_PASSWORD, demo_logins_present, load_demo
from .services.errors import CoopError

coop_cli = AppGroup("coop", help="Entraide administration.")


@coop_cli.command("check")
def check_command() -> None:
    """Verify the invariants of the books, ballots, general meetings, investments, time credits and shares passing
    on over every club; exit 1 on any violation."""
    violations = (ledger.check() + fund.check_contributions() + ballots.check() + meetings.check()
                  + investments.check() + timebank.check() + transfers.check() + partners.check())
    with db.engine.connect() as connection:
        if citus.is_citus(connection):  # on Citus, also: every table distributed by club, or a reference table
            violations += [f"Citus: {problem}" for problem in citus.check(connection)]
    if not violations:
        click.echo("Check: all invariants hold.")
        return
    click.echo(f"Check: {len(violations)} violation(s).", err=True)
    for violation in violations:
        click.echo(f"  - {violation}", err=True)
    sys.exit(1)


@coop_cli.command("reseal")
def reseal_command() -> None:
    """Seal every club's hash chain again under the chain key, once, after the upgrade that keyed it.
    A chain that does not check is left as it is (exit 1): its edits are reported, not sealed over."""
    refused = 0
    for club_id in ledger.chained_clubs():
        try:
            count = ledger.reseal(club_id)
        except CoopError as err:
            refused += 1
            click.echo(f"Club {club_id}: refused: {err.message}", err=True)
            continue
        if count:
            click.echo(f"Club {club_id}: {count} transaction(s) sealed under the key.")
    if refused:
        sys.exit(1)
    click.echo("Reseal: every chain is sealed under the key.")


@coop_cli.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing (exit 0) when the database already has data.")
def demo_command(if_empty: bool) -> None:
    """Load the demo club (8 members) into an empty database."""
    try:
        logins = load_demo()
    except CoopError as err:
        if if_empty:
            click.echo("The database already has data: no demo loaded.")
            _print_logins(demo_logins_present(), DEMO_PASSWORD)
            return
        click.echo(f"Refused: {err.message}", err=True)
        sys.exit(1)
    click.echo("Demo club “Cigale du Vercors” loaded.")
    _print_logins(logins, DEMO_PASSWORD)


def _print_logins(logins, password: str) -> None:
    if not logins:
        return
    click.echo(f"Demo logins (password: {password}):")
    for login in logins:
        click.echo(f"  {login.email:<34} {login.name} ({login.role})")


@coop_cli.command("distribute")
@click.option("--shards", type=click.IntRange(1, 1024), default=None,
              help="Shards per table (default: Citus's citus.shard_count, 32).")
def distribute_command(shards: int | None) -> None:
    """On a Citus coordinator: distribute every club-owned table by club_id, co-located with the clubs, and
    make the people's tables reference tables, so that each club's rows live together on one node
    (docs/scaling.md). Run it after `flask db upgrade`: it distributes what is not yet distributed, and
    does nothing on a distributed schema."""
    with db.engine.begin() as connection:
        if not citus.is_citus(connection):
            click.echo("Distribute: this database has no Citus (CREATE EXTENSION citus on the coordinator and its "
                       "workers first); nothing done.", err=True)
            sys.exit(1)
        try:
            done = citus.distribute(connection, shard_count=shards)
        except citus.CitusError as err:
            click.echo(f"Distribute: refused: {err}", err=True)
            sys.exit(1)
    for line in done:
        click.echo(f"  {line}")
    click.echo(f"Distribute: {len(done)} change(s); every table is distributed by club or a reference table."
               if done else "Distribute: already distributed; nothing to do.")


@coop_cli.command("tick")
def tick_command() -> None:
    """Close the ballots whose deadline has passed and apply their decisions; put clubs past their
    term in management (R5); expire the exchanges not confirmed in time (R12); settle the co-owners'
    months to buy a share first that are over (art. 815-14); remove what the database
    still keeps of closed secret ballots' boxes, if a close could not; on SQLite, refresh the query
    planner's statistics. Run it from cron."""
    closed = ballots.tick()
    ended = clubs.end_terms()
    expired = timebank.expire_due() + partners.expire_due()
    relayed = partners.deliver_due()
    partners.undo_due()
    settled = transfers.settle_due()
    scrub(db.engine, ballots.SCRUBBED)
    refresh_statistics(db.engine)
    click.echo(f"{closed} ballot(s) closed; {ended} club(s) reached the end of their term; "
               f"{expired} exchange(s) expired; {settled} month(s) to buy a share first settled; "
               f"{relayed} step(s) delivered to partner clubs.")


# --- Regional associations (docs/regions.md) ------------------------------------------------------------------

region_cli = AppGroup("region", help="Regional associations of clubs.")
coop_cli.add_command(region_cli)


@region_cli.command("create")
@click.argument("name")
@click.option("--coordinator", "email", required=True, help="Email of its first coordinator (who has an account).")
@click.option("--description", default="", help="A short description (500 characters at most).")
def region_create_command(name: str, email: str, description: str) -> None:
    """Create a regional association with its first coordinator: an operator's act, never a page's. Clubs then
    join it by a vote of their members; its coordinators add others from its page."""
    from flask_babel import force_locale

    from .services import regions  # here, not atop: the regional commands stay one block of their own

    try:
        region = regions.create_region(name, email, description=description)
    except CoopError as err:
        with force_locale("en"):  # the rest of the command speaks English
            click.echo(f"Refused: {err.message}", err=True)
        sys.exit(1)
    click.echo(f"Association {region.id} “{region.name}” created; its coordinator: {email.strip().lower()}.")
