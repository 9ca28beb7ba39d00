"""Amounts typed the French or the English way become integer cents; cents and minutes read back per locale."""
from __future__ import annotations

import pytest

from coop.amounts import AmountError, decimal_text, duration, money, parse_money, percent

# --- parse_money ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        # French habits
        pytest.param("1 234,56", 123456, id="fr: space thousands, comma decimals"),
        pytest.param("1\u00a0234,56", 123456, id="fr: no-break space"),
        pytest.param("1\u202f234,56", 123456, id="fr: narrow no-break space"),
        pytest.param("1.234,56", 123456, id="fr/be: dot thousands, comma decimals"),
        pytest.param("7,50 €", 750, id="fr: with the euro sign"),
        pytest.param("7,50\u00a0€", 750, id="fr: euro after a no-break space"),
        pytest.param("7,5", 750, id="fr: one decimal"),
        pytest.param("0,5", 50, id="fr: half"),
        pytest.param("0,05", 5, id="fr: five cents"),
        pytest.param("12,34", 1234, id="fr: two decimals"),
        pytest.param("1 000 000", 100_000_000, id="fr: a million"),
        # English habits
        pytest.param("1,234.56", 123456, id="en: comma thousands, dot decimals"),
        pytest.param("1234.5", 123450, id="en: one decimal"),
        pytest.param("€7.50", 750, id="en: euro sign first"),
        pytest.param("$7.50", 750, id="en: dollar sign"),
        pytest.param("CA$12.00", 1200, id="en: CA dollar sign"),
        pytest.param("12 CAD", 1200, id="currency code"),
        pytest.param("1,000,000.00", 100_000_000, id="en: a million"),
        pytest.param("1,234,567", 123_456_700, id="en: two thousands groups"),
        pytest.param("1'234.50", 123450, id="ch: apostrophe thousands"),
        # Plain
        pytest.param("12", 1200, id="whole number"),
        pytest.param("0", 0, id="zero"),
        pytest.param("1234", 123400, id="no separators"),
        pytest.param("+5", 500, id="explicit plus"),
        pytest.param("  12,00  ", 1200, id="surrounding spaces"),
        pytest.param("9999999999999", 999_999_999_999_900, id="thirteen digits: the largest"),
    ],
)
def test_amounts_are_read_as_cents(text, cents):
    assert parse_money(text) == cents


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("", "empty", id="empty"),
        pytest.param("   ", "empty", id="blank"),
        pytest.param("€", "empty", id="a sign alone"),
        pytest.param(None, "empty", id="None"),
        pytest.param("abc", "malformed", id="letters"),
        pytest.param("12abc", "malformed", id="trailing letters"),
        pytest.param("-5", "negative", id="negative"),
        pytest.param("-0,01", "negative", id="negative cent"),
        pytest.param("1.234.56", "malformed", id="one mark for thousands and decimals"),
        pytest.param("1,234,56", "malformed", id="one comma for both"),
        pytest.param("1,2,3", "malformed", id="stray commas"),
        pytest.param("1,234.567", "malformed", id="three decimals"),
        pytest.param("12,3456", "malformed", id="four decimals"),
        pytest.param("1,23,456", "malformed", id="Indian grouping"),
        pytest.param("12.345,67.8", "malformed", id="mixed up"),
        pytest.param("1e5", "malformed", id="exponent"),
        pytest.param("5.", "malformed", id="trailing mark"),
        pytest.param(".5", "malformed", id="leading mark"),
        pytest.param("NaN", "malformed", id="NaN"),
        pytest.param("Infinity", "malformed", id="Infinity"),
        pytest.param("0x10", "malformed", id="hexadecimal"),
        pytest.param("99999999999999", "too large", id="fourteen digits"),
        pytest.param("99 999 999 999 999,99", "too large", id="huge, grouped"),
        pytest.param("1" * 400, "too large", id="four hundred digits"),
    ],
)
def test_what_is_not_an_amount_is_refused(text, reason):
    with pytest.raises(AmountError) as refusal:
        parse_money(text)
    assert str(refusal.value) == reason


@pytest.mark.parametrize(
    "text",
    [
        # A lone group of three digits after one mark reads 12 345 the English
        # way and 12,345 (three decimals) the French way: a thousandfold
        # difference, so it is refused rather than guessed.
        pytest.param("12,345", id="12,345"),
        pytest.param("12.345", id="12.345"),
    ],
)
def test_a_lone_three_digit_group_is_ambiguous_and_refused(text):
    with pytest.raises(AmountError):
        parse_money(text)


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        pytest.param("-5", -500, id="minus five"),
        pytest.param("-1 234,56", -123456, id="fr"),
        pytest.param("-1,234.56", -123456, id="en"),
        pytest.param("-0,01", -1, id="one cent"),
        pytest.param("5", 500, id="positive still fine"),
    ],
)
def test_negative_amounts_where_allowed(text, cents):
    assert parse_money(text, allow_negative=True) == cents


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("--5", id="double minus"),
        pytest.param("+-5", id="plus minus"),
        pytest.param("-", id="a minus alone"),
        pytest.param("-abc", id="minus letters"),
        pytest.param("-1.234.56", id="minus, one mark for both"),
    ],
)
def test_malformed_amounts_are_refused_where_negatives_are_allowed(text):
    with pytest.raises(AmountError):
        parse_money(text, allow_negative=True)


def test_cents_never_go_through_float():
    # 0.29 * 100 is 28.999999999999996 in binary floating point.
    assert parse_money("0,29") == 29
    assert parse_money("1.15") == 115


# --- money, decimal_text ------------------------------------------------------------------


def _spaces(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


@pytest.mark.parametrize(
    ("cents", "currency", "locale", "shown"),
    [
        pytest.param(123456, "EUR", "fr", "1 234,56 €", id="EUR fr"),
        pytest.param(123456, "EUR", "en", "€1,234.56", id="EUR en"),
        pytest.param(123456, "CAD", "fr", "1 234,56 $", id="CAD fr: as written in Québec"),
        pytest.param(123456, "CAD", "en", "$1,234.56", id="CAD en: as written in Canada"),
        pytest.param(123456, "CAD", "fr_CA", "1 234,56 $", id="CAD fr_CA"),
        pytest.param(123456, "CAD", "en_CA", "$1,234.56", id="CAD en_CA"),
        pytest.param(750, "EUR", "fr", "7,50 €", id="monthly minimum fr"),
        pytest.param(750, "EUR", "en", "€7.50", id="monthly minimum en"),
        pytest.param(5, "EUR", "fr", "0,05 €", id="five cents"),
        pytest.param(0, "CAD", "en", "$0.00", id="zero"),
        pytest.param(-123456, "EUR", "fr", "-1 234,56 €", id="negative fr"),
        pytest.param(-123456, "EUR", "en", "-€1,234.56", id="negative en"),
        pytest.param(100_000_000, "EUR", "fr", "1 000 000,00 €", id="a million fr"),
        pytest.param(100_000_000, "CAD", "en", "$1,000,000.00", id="a million en"),
    ],
)
def test_money_is_shown_in_the_members_language(cents, currency, locale, shown):
    assert _spaces(money(cents, currency, locale)) == shown


@pytest.mark.parametrize(
    ("cents", "locale", "shown"),
    [
        pytest.param(750, "fr", "7,50", id="fr"),
        pytest.param(750, "en", "7.50", id="en"),
        pytest.param(0, "fr", "0,00", id="zero"),
        pytest.param(5, "en", "0.05", id="five cents"),
        pytest.param(123456, "fr", "1 234,56", id="thousands fr"),
        pytest.param(123456, "en", "1,234.56", id="thousands en"),
        pytest.param(-123456, "fr", "-1 234,56", id="negative fr"),
    ],
)
def test_decimal_text_fills_a_form_field(cents, locale, shown):
    assert decimal_text(cents, locale) == shown


@pytest.mark.parametrize("cents", [0, 1, 5, 50, 750, 123456, 100_000_000, 999_999_999_999_999])
@pytest.mark.parametrize("locale", ["fr", "en"])
def test_decimal_text_reads_back_as_the_same_cents(cents, locale):
    assert parse_money(decimal_text(cents, locale)) == cents


# --- duration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "shown"),
    [
        pytest.param(0, "0 h", id="nothing"),
        pytest.param(5, "0 h 05", id="five minutes"),
        pytest.param(59, "0 h 59", id="under an hour"),
        pytest.param(60, "1 h", id="one hour"),
        pytest.param(150, "2 h 30", id="two and a half hours"),
        pytest.param(2400, "40 h", id="the default ceiling"),
        pytest.param(-90, "−1 h 30", id="owing an hour and a half"),
        pytest.param(-600, "−10 h", id="the default floor"),
        pytest.param(-5, "−0 h 05", id="owing five minutes"),
    ],
)
def test_duration_in_hours_and_minutes(minutes, shown):
    assert duration(minutes) == shown.replace(" ", NBSP)


NBSP = "\u00a0"


@pytest.mark.parametrize("minutes", [-600, -90, 150, 0])
def test_a_duration_never_breaks_across_lines(minutes):
    """"−10 h" cut after the number: only non-breaking spaces inside."""
    assert " " not in duration(minutes) and NBSP in duration(minutes)


@pytest.mark.parametrize("cents", [-107_500, 107_500, 0])
@pytest.mark.parametrize("currency", ["EUR", "CAD"])
@pytest.mark.parametrize("locale", ["fr", "en"])
def test_an_amount_never_breaks_across_lines(cents, currency, locale):
    assert " " not in money(cents, currency, locale)


# --- percent ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "locale", "shown"),
    [
        pytest.param(25.71, "en", "25.71%", id="en: no space, decimal point"),
        pytest.param(25.71, "fr", "25,71\u00a0%", id="fr: decimal comma, no-break space"),
        pytest.param(50, "en", "50%", id="en: whole"),
        pytest.param(12.5, "fr", "12,5\u00a0%", id="fr: one decimal"),
        pytest.param(100, "fr", "100\u00a0%", id="fr: whole"),
        pytest.param(33.333, "en", "33.33%", id="en: at most two decimals"),
        pytest.param(1234.5, "en", "1,234.5%", id="en: thousands"),
    ],
)
def test_a_percentage_in_the_readers_locale(value, locale, shown):
    assert percent(value, locale) == shown
