"""Accessibility and phones: axe-core (from npm, `make axe`) finds no serious or critical violation on the
main pages, in French and in English; at 375 px wide the pages fit the screen (no sideways scrolling), and a
screenshot of the French home page is kept."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from tests.e2e.conftest import ARTIFACTS, PASSWORD, ROOT, _unavailable, log_in

pytestmark = pytest.mark.e2e

AXE = ROOT / "tests" / "e2e" / "node" / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")
#: The last elements sticking out past the phone's right edge, to say what to fix.
WIDEST = ("[...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > 376)"
          ".slice(-4).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))")


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        _unavailable(f"the accessibility tests need axe-core at {AXE} (run `make axe`)")
    return AXE.read_text()


@pytest.fixture(scope="module")
def scene(live_app):
    """An active club with money, an open ballot on a project, an offer and an exchange to confirm."""
    from coop.extensions import db
    from coop.models.base import utcnow
    from coop.services import access, auth, ballots, clubs, fund, investments, projects, regions, tally, timebank

    tag = uuid.uuid4().hex[:6]
    key = lambda: uuid.uuid4().hex  # noqa: E731
    with live_app.app_context():
        names = ["Alice Gérante", "Bruno Trésorier", "Chloé Membre", "Driss Membre", "Emma Membre"]
        users = [auth.register(n, f"{n.split()[0].lower()}.a11y.{tag}@example.org", PASSWORD, "fr") for n in names]
        club = clubs.create_club(users[0].id, name=f"Cigale Accessible {tag}", town="Die", country="FR",
                                      currency="EUR", form_key=key())
        mid = {users[0].id: access.membership_for(users[0].id, club.id).id}
        for user in users[1:]:
            _, code = clubs.invite(users[0].id, club.id, form_key=key())
            mid[user.id] = clubs.admit(users[0].id, club.id, clubs.join(user.id, code).id).id
        clubs.appoint(users[0].id, club.id, mid[users[1].id], "treasurer")
        clubs.activate(users[0].id, club.id)
        for user in users:
            fund.record_contribution(users[1].id, club.id, membership_id=mid[user.id], amount=200_000,
                                     received_on=date.today(), method="transfer", idempotency_key=key())
        project = projects.propose(users[2].id, club.id, {
            "name": "Épicerie du Diois", "description": "Une épicerie en vrac.", "town": "Die",
            "legal_form": "scop", "instrument": "loan", "amount_requested": 150_000, "stake_hundredths": None,
            "holder_name": "Inès", "holder_contact": "ines@example.org"}, form_key=key())
        projects.present(users[2].id, club.id, project.id)
        ballot = ballots.open_ballot(users[0].id, club.id, kind="funding", method="yes_no",
                                     closes_at=utcnow() + timedelta(days=7),
                                     subject=ballots.Subject(project_ids=[project.id]), form_key=key())
        listing = timebank.publish(users[3].id, club.id, {
            "kind": "offer", "title": "Réparation de vélos", "category": "diy", "description": "Freins, pneus.",
            "availability": "Le samedi", "expires_on": None}, form_key=key())
        exchange = timebank.record_exchange(users[3].id, club.id, other_id=mid[users[2].id], direction="given",
                                            minutes=90, done_on=date.today(), description="Vélo réparé",
                                            form_key=key())
        # A second project, voted and paid out as a loan: the investment pages have something to show.
        bakery = projects.propose(users[2].id, club.id, {
            "name": "Fournil des Trois Becs", "description": "Un fournil bio.", "town": "Saillans",
            "legal_form": "sarl", "instrument": "loan", "amount_requested": 200_000, "stake_hundredths": None,
            "holder_name": "Paul", "holder_contact": "paul@example.org"}, form_key=key())
        projects.present(users[2].id, club.id, bakery.id)
        vote = ballots.open_ballot(users[0].id, club.id, kind="funding", method="yes_no",
                                   closes_at=utcnow() + timedelta(days=7),
                                   subject=ballots.Subject(project_ids=[bakery.id]), form_key=key())
        option = vote.options[0].id
        for user in users:
            ballots.vote(user.id, club.id, vote.id, choices={option: tally.YES})
        ballots.close_early(users[0].id, club.id, vote.id)
        loan = investments.record_investment(users[1].id, club.id, bakery.id, mentor_id=mid[users[3].id],
                                             form_key=key())
        payment = investments.enter_payment(users[1].id, club.id, loan.id, amount=200_000, paid_on=date.today(),
                                            form_key=key())
        investments.approve_payment(users[0].id, club.id, payment.id)
        investments.set_loan_terms(users[1].id, club.id, loan.id, rate_basis_points=250, term_periods=24,
                                   frequency="monthly", first_due_on=date.today() + timedelta(days=30))
        # The club shares with a regional association its treasurer coordinates: the treasurer's home links to it.
        region = regions.create_region(f"Cigales du Sud-Est {tag}", users[1].email)
        joining = ballots.open_ballot(users[0].id, club.id, kind="region", method="yes_no",
                                      closes_at=utcnow() + timedelta(days=7),
                                      subject=ballots.Subject(region_id=region.id), form_key=key())
        for user in users:
            ballots.vote(user.id, club.id, joining.id, choices={joining.options[0].id: tally.YES})
        ballots.close_early(users[0].id, club.id, joining.id)
        out = {"club": club.id, "project": project.id, "ballot": ballot.id, "listing": listing.id,
               "exchange": exchange.id, "member": users[2].email, "treasurer": users[1].email,
               "investment": loan.id, "region": region.id}
        db.session.remove()
        db.engine.dispose()
    return out




def member_pages(s: dict) -> list[str]:
    c = f"/clubs/{s['club']}"
    return ["/", f"{c}/", f"{c}/savings", f"{c}/fund", f"{c}/projects", f"{c}/projects/{s['project']}",
            f"{c}/ballots", f"{c}/ballots/{s['ballot']}", f"{c}/investments", f"{c}/time", f"{c}/time/offers",
            f"{c}/time/offers/{s['listing']}", f"{c}/time/exchanges/new", f"{c}/time/exchanges/{s['exchange']}",
            f"{c}/time/statement", f"{c}/members", f"{c}/charter", f"{c}/regions", "/account/"]


def treasurer_pages(s: dict) -> list[str]:
    c = f"/clubs/{s['club']}"
    return [f"{c}/books", f"{c}/books/trial-balance", f"{c}/books/checks", f"{c}/books/bank", f"{c}/contributions",
            f"{c}/contributions/new", f"/regions/{s['region']}"]


def serious_violations(page, axe_source: str) -> list[str]:
    page.evaluate(axe_source)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(n["target"][0] for n in v["nodes"][:3])
            for v in result["violations"] if v["impact"] in SERIOUS]


@pytest.mark.parametrize("locale", ["fr-FR", "en-CA"])
def test_no_serious_accessibility_violation_on_the_main_pages(live_server, new_page, scene, axe_source, locale):
    found = {}
    for email, paths in ((scene["member"], member_pages(scene)), (scene["treasurer"], treasurer_pages(scene))):
        page = new_page(locale=locale, bypass_csp=True)  # axe is injected as a script; the app's CSP forbids that
        log_in(page, live_server, email)
        for path in paths:
            response = page.goto(live_server + path)
            assert response.status == 200, path
            problems = serious_violations(page, axe_source)
            if problems:
                found[path] = problems
    for path in ("/account/login", "/account/register", "/account/reset"):
        page = new_page(locale=locale, bypass_csp=True)
        page.goto(live_server + path)
        if problems := serious_violations(page, axe_source):
            found[path] = problems
    assert not found, "\n".join(f"{path}: {p}" for path, problems in found.items() for p in problems)


#: Links a crawl does not follow: downloads, and what ends the visit.
NOT_PAGES = (".csv", "/logout", "/language")
#: Enough for every page a member or a treasurer can reach in the scene (each listing, exchange, ballot …).
MOST_PAGES = 120


def crawl(page, base: str, start: list[str]) -> list[str]:
    """Every page of this site reachable by links from ``start``, as the logged-in person sees them."""
    seen, queue, visited = set(start), list(start), []
    while queue and len(visited) < MOST_PAGES:
        path = queue.pop(0)
        response = page.goto(base + path)
        if response is None or response.status != 200 or "text/html" not in response.headers.get("content-type", ""):
            continue
        visited.append(path)
        links = page.evaluate("[...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))")
        for link in links:
            link = link.split("#", 1)[0]
            if link.startswith("/") and not link.startswith("//") and link not in seen \
                    and not any(word in link for word in NOT_PAGES):
                seen.add(link)
                queue.append(link)
    return visited


@pytest.mark.parametrize("who", ["member", "treasurer"])
def test_every_page_a_member_or_a_treasurer_reaches_fits_a_375_pixel_phone(live_server, new_page, scene, who):
    """Found by following the links (not a list): a new page is measured as soon as a page links to it."""
    page = new_page(locale="fr-FR", width=375, height=812)
    log_in(page, live_server, scene[who])
    visited = crawl(page, live_server, ["/", f"/clubs/{scene['club']}/"])
    assert f"/clubs/{scene['club']}/investments/{scene['investment']}" in visited
    if who == "treasurer":  # who coordinates the association the club shares with
        assert f"/regions/{scene['region']}" in visited
    too_wide = {}
    for path in visited:
        page.goto(live_server + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 375:
            too_wide[path] = (width, page.evaluate(WIDEST))
    assert not too_wide, f"pages wider than the phone: {too_wide}"


def test_the_french_home_page_at_375_pixels(live_server, new_page, scene):
    page = new_page(locale="fr-FR", width=375, height=812)
    log_in(page, live_server, scene["member"])
    page.goto(live_server + f"/clubs/{scene['club']}/")
    assert page.locator("html").get_attribute("lang") == "fr"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "home-375-fr.png"), full_page=True)
    assert (ARTIFACTS / "home-375-fr.png").stat().st_size > 10_000


def test_a_member_logs_in_and_records_an_exchange_with_the_keyboard_alone(live_server, new_page, scene):
    """No mouse: Tab reaches the skip link first, then the fields in reading order; Enter sends the form."""
    page = new_page(locale="fr-FR")
    page.goto(live_server + "/account/login")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    for _ in range(30):  # through the header's links to the first field of the form
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "email":
            break
    assert page.evaluate("document.activeElement.name") == "email"
    page.keyboard.type(scene["member"])
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "password"
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/account/login" not in page.url

    page.goto(live_server + f"/clubs/{scene['club']}/time/exchanges/new")
    page.locator("input[name=direction][value=received]").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")  # the other member: the first one in the list is chosen with the arrow keys
    page.keyboard.press("ArrowDown")
    for name, value in (("hours", "1"), ("minutes", "15")):
        page.locator(f"input[name={name}]").focus()
        page.keyboard.press("Control+A")
        page.keyboard.type(value)
    page.locator("input[name=description]").focus()
    page.keyboard.type("Aide au clavier")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_text("L’échange de 1 h 15 est enregistré et comptabilisé.").is_visible()
