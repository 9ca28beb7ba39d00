"""A decision told in words, from the figures its ballot kept:
"Quorum reached: 6 of 11 eligible members took part (at least 6 needed).
5 yes of 6 votes cast = 83 %, more than half needed. Adopted." """
from __future__ import annotations

from flask_babel import format_date, get_locale, ngettext
from flask_babel import gettext as _

from . import clock, labels
from .amounts import percent
from .models import Ballot, Meeting


def rounded_percent(part: int, whole: int) -> int:
    """Rounded half up, in whole numbers (2 of 3 shows as 67 %)."""
    return (200 * part + whole) // (2 * whole) if whole else 0


def quorum_needed(eligible: int, percent: int) -> int:
    """The fewest participants that make the quorum: ⌈percent × eligible / 100⌉."""
    return -(-percent * eligible // 100)


def _percent(value: int) -> str:
    """A percentage as the reader's language writes it: "80%" in English, "80 %" in French."""
    return percent(value, str(get_locale() or "fr"))


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
    elif kind == "transfer":
        text = ballot.options[0].label  # whose share passes, to whom: "Alice Martin → Bruno Petit"
    elif kind == "stake_sale":
        text = _("Selling the club's shares of %(name)s", name=ballot.options[0].label)
    elif kind == "region":
        text = _("Sharing the club's figures with %(name)s", name=ballot.options[0].label)
    elif kind == "accounts":
        text = _("Approving the accounts of %(year)s and the treasurer's report", year=ballot.year)
    elif kind == "partnership":
        text = _("Trading time with %(club)s", club=ballot.options[0].label)
    elif kind == "election":
        office = labels.ROLES.get(ballot.role, ballot.role)
        names = ", ".join(o.label for o in ballot.options)
        text = _("Electing the %(office)s: %(names)s", office=office, names=names)
    else:
        text = str(labels.BALLOT_KINDS[kind])
    return f"{ballot.title} — {text}" if ballot.title else text


def meeting_name(meeting: Meeting, zone: str) -> str:
    """How a general meeting is named: its kind and its date on the club's clock ("Ordinary general meeting of
    16 March 2027"), after its title if it has one."""
    day = format_date(clock.local_date(meeting.scheduled_at, zone), "long")
    text = _("%(kind)s of %(day)s", kind=labels.MEETING_KINDS[meeting.kind], day=day)
    return f"{meeting.title} — {text}" if meeting.title else text


def ballot_name(ballot: Ballot) -> str:
    """How a list names a ballot: its kind and subject ("Funding a project: Fournil de Die"), so that two open
    ballots of one kind never look the same; the kind alone when the subject says nothing more."""
    kind = str(labels.BALLOT_KINDS[ballot.kind])
    subject = subject_of(ballot)
    return kind if subject == kind else _("%(label)s: %(value)s", label=kind, value=subject)


def _option_names(ballot: Ballot) -> dict[str, str]:
    return {str(o.id): o.label for o in ballot.options}


def explain(ballot: Ballot) -> list[str]:
    """The sentences of the minutes for a closed ballot; nothing before the close (R9)."""
    if ballot.status == "cancelled":
        if ballot.meeting_id is not None:
            return [_("Not voted on at the general meeting: %(reason)s", reason=ballot.cancel_reason or "")]
        return [_("Cancelled by the manager: %(reason)s", reason=ballot.cancel_reason or "")]
    if ballot.status != "closed" or not ballot.tally:
        return []
    t = ballot.tally
    eligible, participants = t["eligible"], t["participants"]
    need = quorum_needed(eligible, t["quorum_percent"])
    lines = []
    if t["quorum_met"]:
        lines.append(ngettext("Quorum reached: %(num)d of %(e)d eligible members took part (at least %(n)d needed, "
                              "%(q)s).",
                              "Quorum reached: %(num)d of %(e)d eligible members took part (at least %(n)d needed, "
                              "%(q)s).", participants, e=eligible, n=need, q=_percent(t["quorum_percent"])))
    else:
        lines.append(ngettext("Quorum not reached: %(num)d of %(e)d eligible members took part, at least %(n)d "
                              "were needed (%(q)s).",
                              "Quorum not reached: %(num)d of %(e)d eligible members took part, at least %(n)d "
                              "were needed (%(q)s).", participants, e=eligible, n=need, q=_percent(t["quorum_percent"])))
    method = ballot.method
    if method in ("judgment", "approval"):
        names = _option_names(ballot)
        ranked = sorted(t.get("options", {}).items(), key=lambda item: (item[1]["rank"], names.get(item[0], "")))
        for option_id, figures in ranked:
            if method == "judgment":
                grade = figures.get("majority_grade")
                lines.append(ngettext("%(rank)d. %(name)s: majority grade %(grade)s; %(num)d of %(p)d grades it "
                                      "fair or better.",
                                      "%(rank)d. %(name)s: majority grade %(grade)s; %(num)d of %(p)d grade it "
                                      "fair or better.", figures["accepting"], rank=figures["rank"],
                                      name=names.get(option_id, "?"), grade=labels.GRADES.get(grade, "—"),
                                      p=participants))
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
            return ngettext("%(num)d of %(e)d eligible members accepts %(name)s: unanimity needs every one of them.",
                            "%(num)d of %(e)d eligible members accept %(name)s: unanimity needs every one of them.",
                            yes, e=t["eligible"], name=first)
        pct = _percent(rounded_percent(yes, cast))
        if threshold == "two_thirds":
            return ngettext("%(num)d of %(cast)d participants accepts %(name)s = %(pct)s: two thirds are needed.",
                            "%(num)d of %(cast)d participants accept %(name)s = %(pct)s: two thirds are needed.",
                            yes, cast=cast, name=first, pct=pct)
        return ngettext("%(num)d of %(cast)d participants accepts %(name)s = %(pct)s: more than half is needed.",
                        "%(num)d of %(cast)d participants accept %(name)s = %(pct)s: more than half is needed.",
                        yes, cast=cast, name=first, pct=pct)
    if threshold == "unanimity":
        return _("%(yes)d yes of %(e)d eligible members: unanimity needs every one of them.", yes=yes, e=t["eligible"])
    pct = _percent(rounded_percent(yes, cast))
    if threshold == "two_thirds":
        return _("%(yes)d yes of %(cast)d votes cast = %(pct)s: two thirds are needed (abstentions left out).",
                 yes=yes, cast=cast, pct=pct)
    return _("%(yes)d yes of %(cast)d votes cast = %(pct)s: more than half is needed (abstentions left out).",
             yes=yes, cast=cast, pct=pct)
