"""On Citus, every page of a club runs on the one node that holds the club (docs/scaling.md).

The world of the route × role matrix (test_authorization.py) is built, then every page under ``/clubs/<id>/`` is
opened by the club's member, secretary, treasurer and manager with Citus told to refuse any statement that would
ask more than one shard (``citus.multi_task_query_log_level = error``): a query that does not name the club, or
joins two tables on anything but the club, turns the page into a 500 and fails here. The pages that may read
across clubs — a person's home page, their account — are not under ``/clubs/<id>/``.

Citus only: run by the Citus lane (TEST_BACKENDS=citus).
"""
from __future__ import annotations

import pytest
from sqlalchemy import event

from coop.extensions import db
from tests.web.test_authorization import API_RULES, ROLES, RULES, build_world, outcome, rules_of, url_for_rule

MEMBERS = [role for role in ROLES if role not in ("anonymous", "outsider", "coordinator")]
SINGLE_NODE = "SET LOCAL citus.multi_task_query_log_level = 'error'"


@pytest.fixture
def world(make_user, make_club, make_browser, monkeypatch):
    return lambda: build_world(make_user, make_club, make_browser, monkeypatch)


def club_pages(app) -> dict:
    return {endpoint: rule for endpoint, rule in sorted(rules_of(app).items())
            if rule.rule.startswith("/clubs/<id:club_id>/") and RULES[endpoint].get is not None}


def test_every_club_page_asks_one_node_only(app, world, backend):
    if backend != "citus":
        pytest.skip("Citus only (TEST_BACKENDS=citus)")
    shown = world()
    pages = club_pages(app)
    assert len(pages) > 50  # the walk found the club's pages

    def one_node(connection):
        connection.exec_driver_sql(SINGLE_NODE)

    expected, seen = {}, {}
    event.listen(db.engine, "begin", one_node)
    try:
        for endpoint, rule in pages.items():
            url = url_for_rule(rule, shown)
            for role in MEMBERS:
                expected[(endpoint, role)] = RULES[endpoint].get[role]
                seen[(endpoint, role)] = outcome(shown.browsers[role].get(url))
    finally:
        event.remove(db.engine, "begin", one_node)
    assert sorted(k for k, v in seen.items() if v == 500) == []
    assert {k: v for k, v in seen.items() if v != expected[k]} == {}


def test_the_guard_refuses_a_statement_over_every_club(app, make_club, backend):
    """The setting the test above relies on does refuse a statement that asks every shard."""
    if backend != "citus":
        pytest.skip("Citus only (TEST_BACKENDS=citus)")
    make_club(5)
    make_club(5)
    with db.engine.connect() as connection:
        with connection.begin():
            connection.exec_driver_sql(SINGLE_NODE)
            with pytest.raises(Exception, match="multi-task query about to be executed"):
                connection.exec_driver_sql("SELECT count(*) FROM membership").scalar()
        with connection.begin():
            connection.exec_driver_sql(SINGLE_NODE)
            assert connection.exec_driver_sql("SELECT count(*) FROM membership WHERE club_id = 1").scalar() == 5


def test_every_api_read_asks_one_node_only(app, world, backend):
    """The API's reads too, each called with a token of each of the club's roles (test_authorization.API_RULES);
    the token is found by its club and digest, the rate limit counted in the people's tables."""
    if backend != "citus":
        pytest.skip("Citus only (TEST_BACKENDS=citus)")
    shown = world()
    reads = {endpoint: rule for endpoint, rule in sorted(rules_of(app).items())
             if endpoint in API_RULES and "GET" in rule.methods}
    assert len(reads) >= 9
    client = app.test_client()

    def one_node(connection):
        connection.exec_driver_sql(SINGLE_NODE)

    expected, seen = {}, {}
    event.listen(db.engine, "begin", one_node)
    try:
        for endpoint, rule in reads.items():
            url = url_for_rule(rule, shown)
            for role in MEMBERS:
                expected[(endpoint, role)] = API_RULES[endpoint][role]
                seen[(endpoint, role)] = client.get(url, headers={
                    "Authorization": f"Bearer {shown.api_tokens[role]}"}).status_code
    finally:
        event.remove(db.engine, "begin", one_node)
    assert sorted(k for k, v in seen.items() if v == 500) == []
    assert {k: v for k, v in seen.items() if v != expected[k]} == {}
