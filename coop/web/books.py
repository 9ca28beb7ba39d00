"""The treasurer's books: journal, transaction, account statements, trial balance, balance sheet,
income statement, capital table, and their CSV exports."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, g, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..amounts import duration
from ..forms.books import DayForm, ExportForm, JournalFilterForm, PeriodForm
from ..models import Unit
from ..services import books, fund, membership
from ..services.books import Cursor, JournalFilter
from .exports import cents_text, csv_response, safe
from .forms import enter_club

bp = Blueprint("books", __name__)


@bp.before_request
@login_required
def _logged_in():
    """Every page here needs a logged-in person."""


def _bookkeeper(club_id: int):
    return enter_club(club_id, roles=books.BOOKKEEPERS)


def _bad_query(template: str, **context):
    """A filter that could not be read: the page again with the fields' errors, 400."""
    return render_template(template, **context), 400


def _amount(value: int, unit: str) -> str:
    """For a CSV cell: cents as a decimal number, time in minutes."""
    return cents_text(value) if unit == Unit.MONEY else str(value)


# --- Journal -----------------------------------------------------------------------------------------------


def _journal_form(club_id: int) -> JournalFilterForm:
    form = JournalFilterForm(request.args)
    form.member.choices = [("", _("Every member"))] + [
        (m.id, m.user.name) for m in membership.members_of(current_user.id, club_id)]
    form.account.choices = [("", _("Every account"))] + [
        (a.id, f"{a.code} — {a.name}") for a in books.accounts_of(current_user.id, club_id)]
    return form


def _filters(form: JournalFilterForm) -> JournalFilter:
    return JournalFilter(start=form.start.data, end=form.end.data, kind=form.kind.data or None,
                         membership_id=form.member.data, account_id=form.account.data, unit=form.unit.data or None,
                         text=form.text.data or "")


@bp.get("/clubs/<id:club_id>/books")
def journal(club_id: int):
    _bookkeeper(club_id)
    form = _journal_form(club_id)
    if not form.validate():
        return _bad_query("books/journal.html", form=form, page=None, export=ExportForm(request.args))
    filters = _filters(form)
    page = books.journal(current_user.id, club_id, filters, after=Cursor.parse(request.args.get("after")))
    return render_template("books/journal.html", form=form, page=page, args=filters.as_args(),
                           export=ExportForm(request.args))


@bp.get("/clubs/<id:club_id>/books/journal.csv")
def journal_csv(club_id: int):
    _bookkeeper(club_id)
    form = _journal_form(club_id)
    if not form.validate() or not ExportForm(request.args).validate():
        abort(400)
    rows = []
    for row, posting, account in books.journal_lines(current_user.id, club_id, _filters(form)):
        txn = row.transaction
        rows.append([txn.id, txn.occurred_on.isoformat(), txn.kind, txn.unit, safe(txn.memo), safe(row.author),
                     txn.reverses_id or "", row.reversed_by or "", account.code, safe(account.name),
                     _amount(posting.amount, txn.unit)])
    return csv_response(f"journal-{club_id}.csv", JOURNAL_COLUMNS, rows)


#: The journal export: one line per posting (documented in docs/books.md).
JOURNAL_COLUMNS = ["transaction", "date", "kind", "unit", "description", "author", "reverses", "reversed_by",
                   "account", "account_name", "amount"]


@bp.get("/clubs/<id:club_id>/books/transactions/<id:transaction_id>")
def transaction(club_id: int, transaction_id: int):
    _bookkeeper(club_id)
    txn = books.transaction_for(current_user.id, club_id, transaction_id)
    return render_template("books/transaction.html", txn=txn, detail=books.transaction_detail(club_id, txn))


# --- Statements -----------------------------------------------------------------------------------------


@bp.get("/clubs/<id:club_id>/books/accounts/<id:account_id>")
def account_statement(club_id: int, account_id: int):
    enter_club(club_id)
    form = PeriodForm(request.args)
    if not form.validate():
        abort(400)
    shown = books.statement(current_user.id, club_id, account_id, after=Cursor.parse(request.args.get("after")),
                            start=form.start.data, end=form.end.data)
    args = {k: v.isoformat() for k, v in (("start", form.start.data), ("end", form.end.data)) if v}
    return render_template("books/statement.html", statement=shown, form=form, args=args,
                           export=ExportForm(request.args), printing=request.args.get("print") == "1")


@bp.get("/clubs/<id:club_id>/books/accounts/<id:account_id>.csv")
def account_statement_csv(club_id: int, account_id: int):
    enter_club(club_id)
    form = PeriodForm(request.args)
    if not form.validate() or not ExportForm(request.args).validate():
        abort(400)
    account, lines = books.statement_lines(current_user.id, club_id, account_id, start=form.start.data,
                                           end=form.end.data)
    rows = [[line.transaction_id, line.occurred_on.isoformat(), line.kind, safe(line.memo),
             _amount(line.amount, account.unit), _amount(line.balance, account.unit)] for line in lines]
    return csv_response(f"statement-{account.code.replace(':', '-')}.csv", STATEMENT_COLUMNS, rows)


STATEMENT_COLUMNS = ["transaction", "date", "kind", "description", "amount", "balance"]


# --- Trial balance, balance sheet, income statement, capital ------------------------------------------------


def _day(form) -> date:
    return form.on.data or date.today()


@bp.get("/clubs/<id:club_id>/books/trial-balance")
def trial_balance(club_id: int):
    _bookkeeper(club_id)
    form = DayForm(request.args)
    if not form.validate():
        abort(400)
    return render_template("books/trial_balance.html", form=form, on=_day(form),
                           tables=books.trial_balance(current_user.id, club_id, on=_day(form)),
                           export=ExportForm(request.args))


@bp.get("/clubs/<id:club_id>/books/trial-balance.csv")
def trial_balance_csv(club_id: int):
    _bookkeeper(club_id)
    form = DayForm(request.args)
    if not form.validate() or not ExportForm(request.args).validate():
        abort(400)
    rows = [[table.unit, line.account.code, safe(line.account.name), line.account.type,
             _amount(line.debits, table.unit), _amount(line.credits, table.unit), _amount(line.balance, table.unit)]
            for table in books.trial_balance(current_user.id, club_id, on=_day(form)) for line in table.lines]
    return csv_response(f"trial-balance-{_day(form).isoformat()}.csv", TRIAL_COLUMNS, rows)


TRIAL_COLUMNS = ["unit", "account", "account_name", "type", "debits", "credits", "balance"]


@bp.get("/clubs/<id:club_id>/books/balance-sheet")
def balance_sheet(club_id: int):
    _bookkeeper(club_id)
    form = DayForm(request.args)
    if not form.validate():
        abort(400)
    return render_template("books/balance_sheet.html", form=form,
                           sheet=books.balance_sheet(current_user.id, club_id, on=_day(form)))


@bp.get("/clubs/<id:club_id>/books/income")
def income(club_id: int):
    _bookkeeper(club_id)
    form = PeriodForm(request.args)
    if not form.validate():
        abort(400)
    end = form.end.data or date.today()
    start = form.start.data or end.replace(month=1, day=1)
    return render_template("books/income.html", form=form,
                           report=books.income_statement(current_user.id, club_id, start=start, end=end))


@bp.get("/clubs/<id:club_id>/books/capital.csv")
def capital_csv(club_id: int):
    _bookkeeper(club_id)
    if not ExportForm(request.args).validate():
        abort(400)
    position = fund.position(current_user.id, club_id)
    rows = [[share.membership.id, safe(share.membership.user.name), share.membership.status,
             cents_text(share.contributed), cents_text(share.refunded), cents_text(share.capital),
             str(share.share).replace(".", cents_text(0)[1])] for share in position.members]
    return csv_response(f"capital-{g.club.id}.csv", CAPITAL_COLUMNS, rows)


CAPITAL_COLUMNS = ["member", "name", "status", "contributed", "refunded", "capital", "share_percent"]


@bp.app_template_filter("time_or_money")
def time_or_money(value: int, unit: str) -> str:
    from flask_babel import get_locale

    from ..amounts import money

    return duration(value) if unit == Unit.TIME else money(value, g.club.currency, str(get_locale() or "fr"))
