"""Every user-facing text in the code and templates has a French translation."""
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
METHODS = [("coop/**.py", "python"), ("templates/**.html", "jinja2"), ("templates/**.txt", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}


def source_messages() -> dict[str, str]:
    found = {}
    for directory in ("coop", "templates"):
        for filename, lineno, message, _comments, _context in extract_from_dir(
            ROOT / directory,
            method_map=[(pattern.split("/", 1)[1], method) for pattern, method in METHODS
                        if pattern.startswith(directory)],
            keywords=KEYWORDS,
        ):
            msgid = message[0] if isinstance(message, tuple) else message
            found.setdefault(msgid, f"{directory}/{filename}:{lineno}")
    return found


def french_catalogue():
    with open(ROOT / "coop/translations/fr/LC_MESSAGES/messages.po", "rb") as fh:
        return read_po(fh)


def test_every_message_has_a_french_translation():
    catalogue = french_catalogue()
    missing = []
    for msgid, where in sorted(source_messages().items(), key=lambda kv: kv[1]):
        entry = catalogue.get(msgid)
        strings = entry.string if entry is not None and isinstance(entry.string, tuple) else [getattr(entry, "string", "")]
        if entry is None or not all(strings) or entry.fuzzy:
            missing.append(f"{where}: {msgid!r}")
    assert not missing, "run `make messages` and translate:\n" + "\n".join(missing)


def test_french_catalogue_keeps_placeholders():
    errors = [f"{m.id!r}: {errs}" for m, errs in french_catalogue().check() if errs]
    assert not errors, "\n".join(errors)
