"""Importing contributions through the browser: who may open the page, a bad file shown line by line with nothing
written, a good file previewed then confirmed once, and confirmation payloads that are tampered with or were made
for another club or person."""
from __future__ import annotations

import io
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from coop.amounts import money
from coop.extensions import db
from coop.models import AuditEntry, Contribution, JournalTransaction
from coop.services import clubs
from tests.conftest import ATTR, HIDDEN, admit_by_vote, hidden_fields, key, say, say_n, snapshot

ROLES = ["manager", "treasurer", "secretary", "member"]


# --- Helpers --------------------------------------------------------------------------------------


def fresh():
    """End the test's own read snapshot, to see what the requests committed."""
    db.session.rollback()
    return db.session


def import_url(club_id: int) -> str:
    return f"/clubs/{club_id}/contributions/import"


def confirm_url(club_id: int) -> str:
    return f"/clubs/{club_id}/contributions/import/confirm"


def eur(cents: int) -> str:
    return money(cents, "EUR", "fr")


def main_of(html: str) -> str:
    return html.split('<main id="main">', 1)[1]


def imported(created: int, total: str, skipped: int) -> str:
    """The message after a confirmed import, as the French page shows it."""
    return " ".join([say_n("%(num)d contribution imported (%(total)s).", "%(num)d contributions imported (%(total)s).",
                           created, total=total),
                     say_n("%(num)d line was already recorded.", "%(num)d lines were already recorded.", skipped)])


def token(browser, page: str = "/") -> str:
    shown = browser.get(page)
    assert shown.status_code == 200, f"{page} answered {shown.status_code}"
    return hidden_fields(shown.text)["csrf_token"]


def upload(browser, club_id: int, data: bytes, *, name: str = "f.csv"):
    """Send a file from the import page, as the browser's file picker would."""
    return browser.client.post(import_url(club_id), data={"csrf_token": token(browser, import_url(club_id)),
                                                          "file": (io.BytesIO(data), name)},
                               content_type="multipart/form-data")


def payload_of(html: str) -> str | None:
    for tag in HIDDEN.findall(html):
        attrs = dict(ATTR.findall(tag))
        if attrs.get("name") == "payload":
            return attrs.get("value")
    return None


def post_confirm(browser, club_id: int, payload: str, *, csrf: str | None = None):
    return browser.client.post(confirm_url(club_id), data={"csrf_token": csrf or token(browser), "payload": payload})


def line_errors(html: str) -> dict[int, str]:
    """Each line of the preview marked as wrong, with its message."""
    rows = re.findall(r'<tr class="has-error">\s*<td[^>]*>(\d+)</td>.*?<span class="error">(.*?)</span>', html, re.S)
    return {int(number): message for number, message in rows}


def contributions_in(club_id: int) -> list[Contribution]:
    return list(fresh().scalars(select(Contribution).where(Contribution.club_id == club_id).order_by(Contribution.id)))


def without_audit(rows: dict) -> dict:
    return {table: values for table, values in rows.items() if table != "audit_entry"}


def add_member(setup, user) -> int:
    """``user`` joins ``setup``'s club with an invitation (and a vote once it is active); returns the membership id."""
    if clubs.club_for(setup.manager.id, setup.club_id).status == "active":
        return admit_by_vote(setup, user)
    _, code = clubs.invite(setup.manager.id, setup.club_id, form_key=key())
    asked = clubs.join(user.id, code)
    clubs.admit(setup.manager.id, setup.club_id, asked.id)
    setup.members.append(user)
    setup.memberships[user.id] = asked.id
    return asked.id


def csv(*lines: str, header: str = "courriel;montant;date;moyen;référence") -> bytes:
    return "\n".join([header, *lines, ""]).encode()


def good_file(setup) -> bytes:
    m3, m4, m5 = setup.members[3], setup.members[4], setup.members[5]
    return csv(f"{m3.email};30,00;05/01/2026;virement;VIR-0105",
               f"{m4.email};1 234,56;31/01/2026;chèque;CHQ-12",
               f"{m5.email};12,5;2026-02-01;espèces;")


GOOD_TOTAL = 3000 + 123_456 + 1250


# --- The page ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role, status", [("treasurer", 200), ("manager", 403), ("secretary", 403),
                                          ("member", 403)])
def test_only_the_treasurer_opens_the_import_page(club, make_browser, role, status):
    person = club.members[ROLES.index(role)]
    page = make_browser(person).get(import_url(club.club_id))
    assert page.status_code == status
    if status == 200:
        assert say("Import contributions from a CSV file") in page.text
        assert 'enctype="multipart/form-data"' in page.text
        assert 'name="file"' in page.text
        assert payload_of(page.text) is None


@pytest.mark.parametrize("who", ["member", "treasurer"])
def test_a_member_of_another_club_gets_404(club, neighbour, make_browser, who):
    person = neighbour.treasurer if who == "treasurer" else neighbour.members[3]
    browser = make_browser(person)
    assert browser.get(import_url(club.club_id)).status_code == 404
    before = snapshot()
    response = browser.client.post(import_url(club.club_id),
                                   data={"csrf_token": token(browser), "file": (io.BytesIO(good_file(club)), "f.csv")},
                                   content_type="multipart/form-data")
    assert response.status_code == 404
    assert snapshot() == before


def test_a_plain_member_cannot_upload_nor_confirm(club, make_browser):
    browser = make_browser(club.members[3])
    before = snapshot()
    response = browser.client.post(import_url(club.club_id),
                                   data={"csrf_token": token(browser), "file": (io.BytesIO(good_file(club)), "f.csv")},
                                   content_type="multipart/form-data")
    assert response.status_code == 403
    # Even with a payload the treasurer was given, a plain member's confirmation is refused.
    treasurer = make_browser(club.treasurer)
    payload = payload_of(upload(treasurer, club.club_id, good_file(club)).text)
    assert payload
    assert post_confirm(browser, club.club_id, payload).status_code in (400, 403)
    assert snapshot() == before


# --- A bad file -----------------------------------------------------------------------------------------


def test_a_bad_file_shows_each_lines_message_and_writes_nothing(club, make_browser):
    m3, m4 = club.members[3], club.members[4]
    data = csv(
        f"{m3.email};30,00;05/01/2026;virement;A1",       # 2 good
        f"{m3.email};-30,00;06/01/2026;virement;A2",      # 3 negative
        "personne@example.org;30,00;07/01/2026;;",        # 4 unknown member
        f"{m4.email};12;08/01/2026;virement;DUP",         # 5 good
        f"{m4.email};12;08/01/2026;virement;DUP",         # 6 duplicate of 5
        f"{m4.email};12;31/02/2026;virement;A6",          # 7 no such day
        f"{m4.email};12;bientôt;virement;A7",             # 8 not a date
    )
    browser = make_browser(club.treasurer)
    before = snapshot()

    response = upload(browser, club.club_id, data)

    assert response.status_code == 400
    assert line_errors(response.text) == {
        3: say("The amount is negative."),
        4: say("No member of the club has the email “%(email)s”.", email="personne@example.org"),
        6: say("Duplicate of line %(n)d.", n=5),
        7: say("The date is not a date such as 31/01/2026."),
        8: say("The date is not a date such as 31/01/2026."),
    }
    assert say_n("%(num)d line has an error: correct the file and send it again. Nothing was recorded.",
                 "%(num)d lines have errors: correct the file and send it again. Nothing was recorded.", 5
                 ) in response.text
    assert payload_of(response.text) is None
    assert confirm_url(club.club_id) not in response.text
    assert snapshot() == before


@pytest.mark.parametrize("data, message", [
    (b"member,total,date\nx@example.org,30,05/01/2026\n",
     ("The first line must name the columns; missing: %(columns)s. Expected: member, amount, date, and optionally "
      "method and reference.", {"columns": "amount"})),
    ("courriel;montant;date\nx@example.org;30;05/01/2026;réf\n".encode("latin-1"),
     ("Save the file as UTF-8 text (CSV UTF-8) and try again.", {})),
    (b"courriel;montant;date\n", ("The file has no line to import.", {})),
], ids=["wrong columns", "latin-1", "header only"])
def test_a_file_refused_whole_says_why_and_writes_nothing(club, make_browser, data, message):
    browser = make_browser(club.treasurer)
    before = snapshot()
    response = upload(browser, club.club_id, data)
    assert response.status_code == 400
    assert say(message[0], **message[1]) in response.text
    assert payload_of(response.text) is None
    assert snapshot() == before


def test_a_form_without_a_file_is_400(club, make_browser):
    browser = make_browser(club.treasurer)
    before = snapshot()
    response = browser.client.post(import_url(club.club_id), data={"csrf_token": token(browser)},
                                   content_type="multipart/form-data")
    assert response.status_code == 400
    assert say("Choose a file.") in response.text
    assert snapshot() == before


# --- A good file: preview, confirm, confirm again ------------------------------------------------------------


def test_a_good_file_is_previewed_then_confirmed_once(club, make_browser):
    browser = make_browser(club.treasurer)
    data = good_file(club)
    before = snapshot()

    preview = upload(browser, club.club_id, data)

    assert preview.status_code == 200
    assert say_n("%(num)d line to record, %(total)s in all; %(skipped)d already recorded.",
                 "%(num)d lines to record, %(total)s in all; %(skipped)d already recorded.",
                 3, total=eur(GOOD_TOTAL), skipped=0) in preview.text
    assert f'action="{confirm_url(club.club_id)}"' in preview.text
    payload = payload_of(preview.text)
    assert payload
    assert line_errors(preview.text) == {}
    assert snapshot() == before  # a preview writes nothing

    csrf = hidden_fields(preview.text)["csrf_token"]
    response = post_confirm(browser, club.club_id, payload, csrf=csrf)

    assert response.status_code == 302
    assert response.headers["Location"] == f"/clubs/{club.club_id}/contributions"
    rows = [(c.membership_id, c.amount, c.received_on, c.method, c.bank_reference, c.source, c.recorded_by_id)
            for c in contributions_in(club.club_id)]
    mids = [club.membership_id(u) for u in club.members[3:6]]
    assert rows == [
        (mids[0], 3000, date(2026, 1, 5), "transfer", "VIR-0105", "import", club.treasurer.id),
        (mids[1], 123_456, date(2026, 1, 31), "cheque", "CHQ-12", "import", club.treasurer.id),
        (mids[2], 1250, date(2026, 2, 1), "cash", "", "import", club.treasurer.id),
    ]
    listing = browser.get(response.headers["Location"])
    assert imported(3, eur(GOOD_TOTAL), 0) in listing.text
    written = snapshot()

    again = post_confirm(browser, club.club_id, payload, csrf=csrf)

    assert again.status_code == 302
    assert len(contributions_in(club.club_id)) == 3
    assert without_audit(snapshot()) == without_audit(written)
    assert imported(0, eur(0), 3) in browser.get(again.headers["Location"]).text
    # Sent again from the page, the same file is shown as already recorded.
    shown = upload(browser, club.club_id, data)
    assert shown.status_code == 200
    assert say_n("%(num)d line to record, %(total)s in all; %(skipped)d already recorded.",
                 "%(num)d lines to record, %(total)s in all; %(skipped)d already recorded.",
                 0, total=eur(0), skipped=3) in shown.text
    assert main_of(shown.text).count(say("already recorded") + "</td>") == 3
    assert fresh().scalar(select(func.count()).select_from(AuditEntry)
                          .where(AuditEntry.action == "contribution.import")) == 2


# --- Payloads that were not made for this confirmation -----------------------------------------------------------


def tampered(payload: str, at: int) -> str:
    """A few characters of ``payload`` changed, from position ``at``."""
    swap = {c: d for c, d in zip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                                 "BCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_A", strict=True)}
    changed = "".join(swap.get(c, c) for c in payload[at:at + 3])
    assert changed != payload[at:at + 3]
    return payload[:at] + changed + payload[at + 3:]


@pytest.mark.parametrize("where", ["start", "middle", "signature", "cut", "empty", "garbage"])
def test_a_tampered_payload_is_400_and_writes_nothing(club, make_browser, where):
    browser = make_browser(club.treasurer)
    payload = payload_of(upload(browser, club.club_id, good_file(club)).text)
    assert payload and "." in payload
    forged = {
        "start": lambda: tampered(payload, 2),
        "middle": lambda: tampered(payload, len(payload) // 2),
        "signature": lambda: tampered(payload, len(payload) - 5),
        "cut": lambda: payload[:-10],
        "empty": lambda: "",
        "garbage": lambda: "not-a-payload",
    }[where]()
    before = snapshot()

    response = post_confirm(browser, club.club_id, forged)

    assert response.status_code == 400
    assert snapshot() == before
    assert contributions_in(club.club_id) == []


def test_a_confirmation_without_csrf_token_is_400(club, make_browser):
    browser = make_browser(club.treasurer)
    payload = payload_of(upload(browser, club.club_id, good_file(club)).text)
    before = snapshot()
    response = browser.client.post(confirm_url(club.club_id), data={"payload": payload})
    assert response.status_code == 400
    assert snapshot() == before


def test_a_payload_made_for_another_club_is_400(make_club, make_browser):
    """The same person keeps the money of two clubs and lists themself, a member of both: only the club
    named in the signed payload tells the file was checked for club A, not B."""
    a = make_club(5, name="Cigale A")
    b = make_club(5, activate=False, name="Cigale B")
    keeper = a.treasurer
    add_member(b, keeper)
    clubs.appoint(b.manager.id, b.club_id, b.membership_id(keeper), "treasurer")
    clubs.activate(b.manager.id, b.club_id)
    browser = make_browser(keeper)
    data = csv(f"{keeper.email};30,00;05/01/2026;virement;SELF")
    preview = upload(browser, a.club_id, data)
    assert preview.status_code == 200
    payload = payload_of(preview.text)
    assert payload
    before = snapshot()

    response = post_confirm(browser, b.club_id, payload)

    assert response.status_code == 400
    assert snapshot() == before
    # The payload was good for its own club all along.
    assert post_confirm(browser, a.club_id, payload).status_code == 302
    assert [c.amount for c in contributions_in(a.club_id)] == [3000]
    assert contributions_in(b.club_id) == []


def test_a_payload_posted_by_another_clubs_treasurer_is_400(make_club, make_browser):
    """Club B's treasurer, also a member of club A, is listed in A's file; A's treasurer uploads it;
    B's treasurer posts it to B: refused (another club, another person)."""
    a = make_club(5, name="Cigale A")
    b = make_club(5, name="Cigale B")
    add_member(a, b.treasurer)
    data = csv(f"{b.treasurer.email};30,00;05/01/2026;virement;B-T")
    preview = upload(make_browser(a.treasurer), a.club_id, data)
    assert preview.status_code == 200
    payload = payload_of(preview.text)
    assert payload
    other = make_browser(b.treasurer)
    before = snapshot()

    assert post_confirm(other, b.club_id, payload).status_code == 400
    assert snapshot() == before
    assert fresh().scalar(select(func.count()).select_from(JournalTransaction)) == 0
