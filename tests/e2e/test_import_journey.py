"""The treasurer imports a CSV file in a real browser: the preview, then the confirmation."""
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import register

pytestmark = pytest.mark.e2e


def test_the_treasurer_previews_then_imports_a_file(live_server, new_page, tmp_path):
    base = live_server
    manager = new_page()
    register(manager, base, "Gaëlle Gérante", "gaelle.import@example.org")
    manager.get_by_role("link", name="Créer un club").click()
    manager.get_by_label("Nom du club").fill("Cigale du Vercors Sud")
    manager.get_by_label("Ville").fill("Die")
    manager.get_by_role("button", name="Créer le club").click()
    club_url = manager.url.rstrip("/")
    manager.goto(club_url + "/charter/edit")
    manager.get_by_label("Le ou la gérant·e peut aussi enregistrer l’argent, pas seulement le ou la trésorier·ère").check()
    manager.get_by_role("button", name="Enregistrer une nouvelle version").click()

    lines = ["courriel;montant;date;référence"]
    lines += [f"gaelle.import@example.org;1,00;{day:02d}/01/2026;REF-{day}" for day in range(1, 29)]
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([*lines, "personne@example.org;-3;31/02/2026;X"]) + "\n", encoding="utf-8")
    good = tmp_path / "good.csv"
    good.write_text("\n".join(lines) + "\n", encoding="utf-8")

    manager.goto(club_url + "/contributions/import")
    manager.get_by_label("Fichier CSV").set_input_files(str(bad))
    manager.get_by_role("button", name="Vérifier le fichier").click()
    expect(manager.get_by_text(re.compile("1 ligne a une erreur"))).to_be_visible()
    expect(manager.get_by_text(re.compile("Le montant est négatif."))).to_be_visible()
    expect(manager.locator("progress")).to_be_hidden()

    manager.get_by_label("Fichier CSV").set_input_files(str(good))
    manager.get_by_role("button", name="Vérifier le fichier").click()
    manager.get_by_role("button", name="Enregistrer ces versements").click()
    expect(manager.get_by_text(re.compile("28 versements importés"))).to_be_visible()
    assert manager.url.endswith("/contributions")
