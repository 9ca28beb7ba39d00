"""Smoke: a club can be made and activated on both databases."""


def test_make_club(make_club):
    setup = make_club(5)
    assert setup.treasurer is not None
