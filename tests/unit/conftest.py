"""Fixtures for the unit tests, which need no database."""
from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask_babel import Babel, refresh

import coop


@pytest.fixture
def speak():
    """An application with Entraide's translations and nothing else; ``speak("fr")`` has it speak French from
    then on (the bank-file readers' messages, read without the app and its database)."""
    app = Flask(__name__)
    chosen = ["en"]
    Babel(app, locale_selector=lambda: chosen[0],
          default_translation_directories=str(Path(coop.__file__).resolve().parent / "translations"))

    def to(locale: str) -> None:
        chosen[0] = locale
        refresh()

    with app.app_context():
        yield to
