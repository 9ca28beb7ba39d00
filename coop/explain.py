"""A decision told in words, from the figures its ballot kept:
"Quorum reached: 6 of 11 eligible members took part (at least 6 needed).
5 yes of 6 votes cast = 83 %, more than half needed. Adopted." """
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import ngettext

from . import labels
from .models import Ballot


def rounded_percent(part: int, whole: int) -> int:
    """Rounded half up, in whole numbers (2 of 3 shows as 67 %)."""
    return (200 * part + whole) // (2 * whole) if whole else 0


def quorum_needed(eligible: int, percent: int) -> int:
    """The fewest participants that make the quorum: ⌈percent × eligible / 100⌉."""
    return -(-percent * eligible // 100)


def subject_of(ballot: Ballot) -> str:
    """What the ballot decides, in a few words."""
    kind = ballot.kind
    if kind == "funding":
        names = [o.label for o in ballot.options]
        text = names[0] if len(names) == 1 else _("Choosing among %(names)s", names=", ".join(names))
    elif kind == "admission":
        text = _("Admitting %(name)s", name=ballot.options[0].label)
    elif kind == "exclusion":
        text = _("Excluding %(name)s", name=ballot.options[0].label)
    elif kind == "stake_sale":
        text = _("Selling the club's shares of %(name)s", name=ballot.options[0].label)
    elif kind == "election":
        office = labels.ROLES.get(ballot.role, ballot.role)
        names = ", ".join(o.label for o in ballot.options)
        text = _("Electing the %(office)s: %(names)s", office=office, names=names)
    else:
        text = str(labels.BALLOT_KINDS[kind])
    return f"{ballot.title} — {text}" if ballot.title else text


def _option_names(ballot: Ballot) -> dict[str, str]:
    return {str(o.id): o.label for o in ballot.options}


def explain(ballot: Ballot) -> list[str]:
    """The sentences of the minutes for a closed ballot; nothing before the close (R9)."""
    if ballot.status == "cancelled":
        return [_("Cancelled by the manager: %(reason)s", reason=ballot.cancel_reason or "")]
    if ballot.status != "closed" or not ballot.tally:
        return []
    t = ballot.tally
    eligible, participants = t["eligible"], t["participants"]
    need = quorum_needed(eligible, t["quorum_percent"])
    lines = []
    if t["quorum_met"]:
        lines.append(_("Quorum reached: %(p)d of %(e)d eligible members took part (at least %(n)d needed, "
                       "%(q)d %%).", p=participants, e=eligible, n=need, q=t["quorum_percent"]))
    else:
        lines.append(_("Quorum not reached: %(p)d of %(e)d eligible members took part, at least %(n)d were needed "
                       "(%(q)d %%).", p=participants, e=eligible, n=need, q=t["quorum_percent"]))
    method = ballot.method
    if method in ("judgment", "approval"):
        names = _option_names(ballot)
        ranked = sorted(t.get("options", {}).items(), key=lambda item: (item[1]["rank"], names.get(item[0], "")))
        for option_id, figures in ranked:
            if method == "judgment":
                grade = figures.get("majority_grade")
                lines.append(_("%(rank)d. %(name)s: majority grade %(grade)s; %(ok)d of %(p)d grade it fair or "
                               "better.", rank=figures["rank"], name=names.get(option_id, "?"),
                               grade=labels.GRADES.get(grade, "—"), ok=figures["accepting"], p=participants))
            else:
                lines.append(ngettext("%(rank)d. %(name)s: %(num)d approval of %(p)d participants.",
                                      "%(rank)d. %(name)s: %(num)d approvals of %(p)d participants.",
                                      figures["approvals"], rank=figures["rank"], name=names.get(option_id, "?"),
                                      p=participants))
    if t["quorum_met"] and ballot.outcome != "tie":
        lines.append(_threshold_sentence(ballot, t))
    lines.append({
        "adopted": _("Adopted."),
        "rejected": _("Rejected."),
        "no_quorum": _("Nothing is decided."),
        "tie": _("Several options share the first rank: nothing is decided."),
    }[ballot.outcome])
    if ballot.effect_error:
        lines.append(_("The decision could not be applied: %(reason)s", reason=ballot.effect_error))
    return lines


def _threshold_sentence(ballot: Ballot, t: dict) -> str:
    yes, no, abstain = t.get("yes", 0), t.get("no", 0), t.get("abstain", 0)
    cast = yes + no
    if ballot.method == "consent":
        return ngettext("%(yes)d consent, %(aside)d stand aside, %(num)d objection: consent needs at least one "
                        "yes and no objection.",
                        "%(yes)d consent, %(aside)d stand aside, %(num)d objections: consent needs at least one "
                        "yes and no objection.", no, yes=yes, aside=abstain)
    threshold = t["threshold"]
    if ballot.method in ("judgment", "approval"):
        names = _option_names(ballot)
        first = next((names.get(k, "?") for k, v in t.get("options", {}).items() if v["rank"] == 1), "?")
        if threshold == "unanimity":
            return _("%(yes)d of %(e)d eligible members accept %(name)s: unanimity needs every one of them.",
                     yes=yes, e=t["eligible"], name=first)
        pct = rounded_percent(yes, cast)
        if threshold == "two_thirds":
            return _("%(yes)d of %(cast)d participants accept %(name)s = %(pct)d %%: two thirds are needed.",
                     yes=yes, cast=cast, name=first, pct=pct)
        return _("%(yes)d of %(cast)d participants accept %(name)s = %(pct)d %%: more than half is needed.",
                 yes=yes, cast=cast, name=first, pct=pct)
    if threshold == "unanimity":
        return _("%(yes)d yes of %(e)d eligible members: unanimity needs every one of them.", yes=yes, e=t["eligible"])
    pct = rounded_percent(yes, cast)
    if threshold == "two_thirds":
        return _("%(yes)d yes of %(cast)d votes cast = %(pct)d %%: two thirds are needed (abstentions left out).",
                 yes=yes, cast=cast, pct=pct)
    return _("%(yes)d yes of %(cast)d votes cast = %(pct)d %%: more than half is needed (abstentions left out).",
             yes=yes, cast=cast, pct=pct)
