"""The treasurer's books: journal, transaction, account statements, trial balance, balance sheet,
income statement, capital table, their CSV exports, and the FEC (the tax file) with its PCG account numbers."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .. import csvfile
from ..amounts import duration, money
from ..forms.auth import EmptyForm
from ..forms.books import (
    AssertionForm,
    AuditFilterForm,
    BankColumnsForm,
    BankFileForm,
    ClosePeriodForm,
    CloseYearForm,
    DayForm,
    ExportForm,
    FecForm,
    FeeForm,
    JournalFilterForm,
    LineContributionForm,
    MatchForm,
    PeriodForm,
    ReconcileForm,
    RefundLineForm,
    ReopenYearForm,
    ResolveForm,
    StatementMemberForm,
    WindowForm,
)
from ..labels import account_name
from ..models import OFFICER_ROLES, MemberStatus, Unit
from ..services import access, books, clubs, fec, fund, reconcile, timebank, yearend
from ..services.books import Cursor, JournalFilter
from ..services.errors import InvalidInput, NeedsConfirmation
from ..services.timebank import fold
from . import sealed
from .charts import line_chart
from .exports import cents_text, csv_response, safe
from .handling import attempt, check_button, enter_club, locale_name, members_only, post_on_page, render_form

bp = members_only(Blueprint("books", __name__))


def _bookkeeper(club_id: int):
    return enter_club(club_id, roles=access.BOOKKEEPERS)


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
        (m.id, m.user.name) for m in clubs.members_of(current_user.id, club_id)]
    form.account.choices = [("", _("Every account"))] + [
        (a.id, f"{a.code} — {account_name(a)}") for a in books.accounts_of(current_user.id, club_id)]
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
                     txn.reverses_id or "", row.reversed_by or "", account.code, safe(account_name(account)),
                     _amount(posting.amount, txn.unit)])
    return csv_response(f"journal-{club_id}.csv", JOURNAL_COLUMNS, rows)


#: The journal export: one line per posting (documented in docs/books.md). Column names in the reader's language.
JOURNAL_COLUMNS = [_l("Transaction"), _l("Date"), _l("Kind"), _l("Unit"), _l("Description"), _l("Author"),
                   _l("Reverses"), _l("Reversed by"), _l("Account code"), _l("Account name"), _l("Amount")]


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
                           export=ExportForm(request.args), printing=request.args.get("print") == "1",
                           last_close=books.last_close(current_user.id, club_id))


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


STATEMENT_COLUMNS = [_l("Transaction"), _l("Date"), _l("Kind"), _l("Description"), _l("Amount"), _l("Balance")]


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
    rows = [[table.unit, line.account.code, safe(account_name(line.account)), line.account.type,
             _amount(line.debits, table.unit), _amount(line.credits, table.unit), _amount(line.balance, table.unit)]
            for table in books.trial_balance(current_user.id, club_id, on=_day(form)) for line in table.lines]
    return csv_response(f"trial-balance-{_day(form).isoformat()}.csv", TRIAL_COLUMNS, rows)


TRIAL_COLUMNS = [_l("Unit"), _l("Account code"), _l("Account name"), _l("Type"), _l("Debits"), _l("Credits"),
                 _l("Balance")]


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
             str(share.share).replace(".", cents_text(0)[1]), cents_text(share.value)] for share in position.members]
    return csv_response(f"capital-{g.club.id}.csv", CAPITAL_COLUMNS, rows)


CAPITAL_COLUMNS = [_l("Member number"), _l("Name"), _l("Status"), _l("Contributed"), _l("Refunded"), _l("Capital"),
                   _l("Share (%)"), _l("Share value")]


@bp.app_template_filter("time_or_money")
def time_or_money(value: int, unit: str) -> str:

    return duration(value) if unit == Unit.TIME else money(value, g.club.currency, locale_name())


# --- FEC: the file of accounting entries for the French tax administration ------------------------------------


def _fec_page(club_id: int, status: int = 200, *, form: FecForm | None = None, chart_error=None, sent=None):
    me = _bookkeeper(club_id)
    refusal = fec.why_not(g.club)
    if refusal is not None:
        return render_template("books/fec.html", refusal=refusal, form=None, years=[], rows=[]), status
    years = fec.years(current_user.id, club_id)
    if form is None:
        form = FecForm(formdata=None)
        closed = [y.year for y in years if y.closed]
        form.year.data = closed[0] if closed else date.today().year - 1
    return render_template("books/fec.html", refusal=None, form=form, years=years,
                           rows=fec.chart(current_user.id, club_id), keeps_books=access.may_record_money(me),
                           closed_through=books.closed_through(club_id), chart_form=EmptyForm(),
                           chart_error=chart_error or (None, None), sent=sent or {}), status


@bp.get("/clubs/<id:club_id>/books/fec")
def fec_page(club_id: int):
    return _fec_page(club_id)


@bp.get("/clubs/<id:club_id>/books/fec.txt")
def fec_file(club_id: int):
    _bookkeeper(club_id)
    form = FecForm(request.args)
    done = None
    if form.validate():
        done = attempt(form, lambda: fec.export(current_user.id, club_id, year=form.year.data, siren=form.siren.data,
                                                separator=form.sep.data))
    if done is None:
        return _fec_page(club_id, getattr(form, "refusal_status", 400), form=form)
    return Response(done.data, content_type=f"text/plain; charset={fec.ENCODING}",
                    headers={"Content-Disposition": f'attachment; filename="{done.filename}"'})


@bp.post("/clubs/<id:club_id>/books/fec/chart")
def fec_chart(club_id: int):
    _bookkeeper(club_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    changes = {row.pattern: (request.form.get(f"number-{row.pattern}", ""), request.form.get(f"label-{row.pattern}", ""))
               for row in fec.chart(current_user.id, club_id) if f"number-{row.pattern}" in request.form}
    try:
        changed = fec.set_chart(current_user.id, club_id, changes)
    except InvalidInput as err:
        return _fec_page(club_id, err.status_code, chart_error=(err.field, str(err.message)), sent=request.form)
    flash(ngettext("%(num)d account number changed.", "%(num)d account numbers changed.", changed), "success")
    return redirect(url_for("books.fec_page", club_id=club_id))


# --- Period close and balance assertions ----------------------------------------------------------------------


def _checks_page(club_id: int, status: int = 200, **forms):
    me = _bookkeeper(club_id)
    close_form = forms.get("close_form") or ClosePeriodForm(formdata=None)
    assertion_form = forms.get("assertion_form") or AssertionForm(formdata=None)
    if "assertion_form" not in forms:
        assertion_form.stated_on.data = date.today()
    return render_template("books/checks.html", periods=books.periods(current_user.id, club_id),
                           assertions=books.assertions(current_user.id, club_id),
                           closed_through=books.closed_through(club_id), close_form=close_form,
                           assertion_form=assertion_form, resolve_form=ResolveForm(formdata=None),
                           accounts={a.id: a for a in books.accounts_of(current_user.id, club_id)},
                           keeps_books=access.may_record_money(me)), status


@bp.get("/clubs/<id:club_id>/books/checks")
def checks(club_id: int):
    return _checks_page(club_id)


def _checks_form(club_id: int, name: str, form, action, success: str):
    _bookkeeper(club_id)
    return post_on_page(form, action, success, url_for("books.checks", club_id=club_id),
                        lambda status: _checks_page(club_id, status, **{name: form}))


@bp.post("/clubs/<id:club_id>/books/periods")
def close_period(club_id: int):
    return _checks_form(club_id, "close_form", ClosePeriodForm(), lambda f: books.close_period(
        current_user.id, club_id, through=f.through.data, note=f.note.data or ""),
        _("The period is closed: nothing more can be dated in it."))


@bp.post("/clubs/<id:club_id>/books/assertions")
def assert_balance(club_id: int):
    return _checks_form(club_id, "assertion_form", AssertionForm(), lambda f: books.assert_balance(
        current_user.id, club_id, stated_on=f.stated_on.data, amount=f.amount.cents, source=f.source.data or ""),
        _("The bank balance is noted; the books are compared with it."))


@bp.post("/clubs/<id:club_id>/books/assertions/<id:assertion_id>/resolve")
def resolve_assertion(club_id: int, assertion_id: int):
    _bookkeeper(club_id)
    form = ResolveForm()
    if not form.validate_on_submit():
        flash(_("Say why the books and the bank differ."), "error")
        return _checks_page(club_id, 400)
    books.resolve_assertion(current_user.id, club_id, assertion_id, note=form.note.data)
    flash(_("The difference is explained and no longer flagged."), "success")
    return redirect(url_for("books.checks", club_id=club_id))


# --- Bank reconciliation ----------------------------------------------------------------------------------------

BANK_SALT = "coop-bank-statement"
COLUMN_GUESSES = {
    "date": ("date", "date operation", "date de l'operation", "date comptable", "booking date", "transaction date"),
    "label": ("libelle", "label", "description", "details", "libelle operation", "memo", "reference"),
    "amount": ("montant", "amount", "montant eur", "montant (eur)", "montant cad"),
    "debit": ("debit", "debit eur", "withdrawals", "retraits", "money out"),
    "credit": ("credit", "credit eur", "deposits", "depots", "money in"),
}


def _guess(header: list[str], name: str) -> int | None:
    for index, cell in enumerate(header):
        if fold(cell).strip(" :") in COLUMN_GUESSES[name]:
            return index
    return None


def _bank_page(club_id: int, status: int = 200, **forms):
    me = _bookkeeper(club_id)
    view = reconcile.overview(current_user.id, club_id)
    contribution_form = _contribution_form(club_id, formdata=None)
    reconcile_form = forms.get("reconcile_form") or ReconcileForm(formdata=None)
    if "reconcile_form" not in forms:
        reconcile_form.through.data = date.today()
    checks = reconcile.balance_checks(current_user.id, club_id)
    through = reconcile_form.through.data
    at_day = (reconcile.day_balances(current_user.id, club_id, through)
              if isinstance(through, date) and not reconcile_form.through.errors else None)
    return render_template("books/bank.html", view=view, window_form=forms.get("window_form") or WindowForm(
        formdata=None), reconcile_form=reconcile_form, fee_form=FeeForm(), contribution_form=contribution_form,
        action_form=EmptyForm(), keeps_books=access.may_record_money(me), checks=checks[:60],
        differing=[c for c in checks if not c.agrees], at_day=at_day), status


@bp.get("/clubs/<id:club_id>/books/bank")
def bank(club_id: int):
    return _bank_page(club_id)


@bp.route("/clubs/<id:club_id>/books/bank/upload", methods=["GET", "POST"])
def bank_upload(club_id: int):
    _bookkeeper(club_id)
    access.money_keeper(current_user.id, club_id)
    form = BankFileForm()
    if form.validate_on_submit():
        data = form.file.data.read(csvfile.MAX_BYTES + 1)
        found = attempt(form, lambda: reconcile.layout_for(current_user.id, club_id, data))
        if found is not None:
            columns = _columns_form(found.table, formdata=None)
            columns.payload.data = sealed.seal(BANK_SALT, club_id, data)
            columns.filename.data = (form.file.data.filename or "")[:200]
            columns.layout.data = found.layout
            if found.columns is not None:
                _show_columns(columns, found.columns)
            if found.layout == reconcile.bankfiles.BY_HAND and found.columns is None:
                return _columns_page(columns, found.table, None, found)
            shown = attempt(columns, lambda: reconcile.preview(current_user.id, club_id, data, found.columns,
                                                               layout=found.layout))
            return _columns_page(columns, found.table, shown, found, 400 if shown is None or shown.messages else 200)
    return render_form("books/bank_upload.html", form)


def _columns_page(form: BankColumnsForm, table, preview, found=None, status: int = 200):
    return render_template("books/bank_columns.html", form=form, table=table, preview=preview, found=found,
                           layouts=reconcile.bankfiles.LAYOUTS), status


def _show_columns(form: BankColumnsForm, columns: reconcile.Columns) -> None:
    for name in (*reconcile.Columns.NAMES, "date_style", "decimal"):
        getattr(form, name).data = getattr(columns, name)
    form.no_header.data = not columns.header


def _columns_form(table, **kwargs) -> BankColumnsForm:
    form = BankColumnsForm(**kwargs)
    form.layout.choices = [(name, layout.bank) for name, layout in reconcile.bankfiles.LAYOUTS.items()] + [
        *reconcile.bankfiles.FORMAT_NAMES.items(), (reconcile.bankfiles.BY_HAND, _("Columns I choose"))]
    if table.header is not None:
        numbered = [(i, f"{i + 1}. {cell[:40]}") for i, cell in enumerate(table.header)]
        numbered += [(i, f"{i + 1}.") for i in range(len(table.header), table.width)]
    else:  # no column names: each position with a value of the first lines, to choose by position
        numbered = [(i, _("Column %(n)d: %(sample)s", n=i + 1, sample=_sample(table.sample, i)))
                    for i in range(table.width)]
    for name in ("date", *reconcile.Columns.NAMES[1:]):
        getattr(form, name).choices = [("", _("none"))] + numbered
    if kwargs.get("formdata", True) is None:
        header = table.header or []
        for name in ("date", "label", "amount", "debit", "credit"):
            getattr(form, name).data = _guess(header, name)
        if form.amount.data is None and (form.debit.data is None or form.credit.data is None):
            form.amount.data = None
        form.no_header.data = table.header is None
    return form


def _sample(rows: list[list[str]], index: int) -> str:
    for row in rows:
        if index < len(row) and row[index].strip():
            return " ".join(row[index].split())[:30]
    return "—"


@bp.post("/clubs/<id:club_id>/books/bank/columns")
def bank_columns(club_id: int):
    _bookkeeper(club_id)
    payload = request.form.get("payload", "")
    data = sealed.unseal(BANK_SALT, club_id, payload, csvfile.MAX_BYTES)
    header = not request.form.get("no_header")
    try:
        table = reconcile.layout_for(current_user.id, club_id, data, header=header).table
    except reconcile.InvalidInput:
        abort(400)
    form = _columns_form(table)
    if not form.validate_on_submit():
        return _columns_page(form, table, None, status=400)
    columns = None
    if form.layout.data == reconcile.bankfiles.BY_HAND:
        columns = reconcile.Columns(date=form.date.data, label=form.label.data, amount=form.amount.data,
                                    debit=form.debit.data, credit=form.credit.data, date_style=form.date_style.data,
                                    decimal=form.decimal.data, header=not form.no_header.data,
                                    balance=form.balance.data)
    if request.form.get("step") != "upload":
        shown = attempt(form, lambda: reconcile.preview(current_user.id, club_id, data, columns,
                                                        layout=form.layout.data))
        status = 400 if shown is None or shown.messages else 200
        return _columns_page(form, table, shown, status=status)
    done = attempt(form, lambda: reconcile.upload(current_user.id, club_id, data, columns, layout=form.layout.data,
                                                 filename=form.filename.data or "",
                                                 window_days=form.window_days.data))
    if done is None:
        return _columns_page(form, table, None, status=getattr(form, "refusal_status", 400))
    statement, matched = done
    flash(ngettext("The statement is kept; %(num)d line matched the books at once.",
                   "The statement is kept; %(num)d lines matched the books at once.", matched), "success")
    stated = [c for c in reconcile.balance_checks(current_user.id, club_id) if c.statement_id == statement.id]
    differ = [c for c in stated if not c.agrees]
    if differ:
        flash(ngettext("%(num)d balance the file states differs from the books: see below.",
                       "%(num)d balances the file states differ from the books: see below.", len(differ)),
              "warning")
    elif stated:
        flash(ngettext("The balance the file states agrees with the books.",
                       "The %(num)d balances the file states agree with the books.", len(stated)), "info")
    return redirect(url_for("books.bank", club_id=club_id))


@bp.post("/clubs/<id:club_id>/books/bank/auto-match")
def bank_auto_match(club_id: int):
    _bookkeeper(club_id)
    form = WindowForm()
    if not form.validate_on_submit():
        return _bank_page(club_id, 400, window_form=form)
    matched = reconcile.auto_match(current_user.id, club_id, window_days=form.window_days.data)
    flash(ngettext("%(num)d line matched.", "%(num)d lines matched.", matched), "success")
    return redirect(url_for("books.bank", club_id=club_id))


def _contribution_form(club_id: int, **kwargs) -> LineContributionForm:
    form = LineContributionForm(**kwargs)
    form.membership_id.choices = [(m.id, m.user.name) for m in clubs.members_of(current_user.id, club_id)]
    return form


def _line_page(club_id: int, line_id: int, status: int = 200, **context):
    """A bank line: the movements it may be matched to, and what else it may be recorded as (a bank fee, the
    refund of an overpayment, a member's contribution)."""
    me = _bookkeeper(club_id)
    found = reconcile.candidates(current_user.id, club_id, line_id)
    line = reconcile.line_for(current_user.id, club_id, line_id)
    refunds = reconcile.refund_candidates(current_user.id, club_id, line_id)
    return render_template("books/bank_line.html", line=line, candidates=found, action_form=EmptyForm(),
                           refunds=refunds, fee_form=FeeForm(), keeps_books=access.may_record_money(me),
                           contribution_form=_contribution_form(club_id, formdata=None), **context), status


@bp.get("/clubs/<id:club_id>/books/bank/lines/<id:line_id>")
def bank_line(club_id: int, line_id: int):
    return _line_page(club_id, line_id)


@bp.post("/clubs/<id:club_id>/books/bank/lines/<id:line_id>/match")
def bank_match(club_id: int, line_id: int):
    _bookkeeper(club_id)
    form = MatchForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        reconcile.match(current_user.id, club_id, line_id, form.transaction_id.data, confirm=form.confirm.data)
    except NeedsConfirmation as err:  # the dates are far apart: the page asks, its button sends confirm
        return _line_page(club_id, line_id, err.status_code, question=str(err.message),
                          confirm_id=form.transaction_id.data)
    flash(_("The line is matched."), "success")
    return redirect(url_for("books.bank", club_id=club_id))


@bp.post("/clubs/<id:club_id>/books/bank/lines/<id:line_id>/refund")
def bank_refund(club_id: int, line_id: int):
    _bookkeeper(club_id)
    form = RefundLineForm()
    if not form.validate_on_submit():
        abort(400)
    reconcile.record_refund(current_user.id, club_id, line_id, contribution_id=form.contribution_id.data)
    flash(_("The overpayment's refund is recorded: the duplicate contribution is reversed and matched."), "success")
    return redirect(url_for("books.bank", club_id=club_id))


@bp.post("/clubs/<id:club_id>/books/bank/lines/<id:line_id>/unmatch")
def bank_unmatch(club_id: int, line_id: int):
    _bookkeeper(club_id)
    check_button()
    reconcile.unmatch(current_user.id, club_id, line_id)
    flash(_("The match is undone."), "info")
    return redirect(url_for("books.bank", club_id=club_id))


@bp.post("/clubs/<id:club_id>/books/bank/lines/<id:line_id>/fee")
def bank_fee(club_id: int, line_id: int):
    _bookkeeper(club_id)
    form = FeeForm()
    if not form.validate_on_submit():
        flash(_("Give the fee a description."), "error")
        return _bank_page(club_id, 400)
    reconcile.record_fee(current_user.id, club_id, line_id, memo=form.memo.data, form_key=form.form_key.data)
    flash(_("The bank fee is posted and matched."), "success")
    return redirect(url_for("books.bank", club_id=club_id))


@bp.post("/clubs/<id:club_id>/books/bank/lines/<id:line_id>/contribution")
def bank_contribution(club_id: int, line_id: int):
    _bookkeeper(club_id)
    form = _contribution_form(club_id)
    if not form.validate_on_submit():
        abort(400)
    reconcile.record_contribution(current_user.id, club_id, line_id, membership_id=form.membership_id.data)
    flash(_("The contribution is recorded and matched."), "success")
    return redirect(url_for("books.bank", club_id=club_id))


@bp.post("/clubs/<id:club_id>/books/bank/reconcile")
def bank_reconcile(club_id: int):
    _bookkeeper(club_id)
    form = ReconcileForm()
    if form.validate_on_submit():
        done = attempt(form, lambda: reconcile.reconcile(current_user.id, club_id, through=form.through.data,
                                                         explanation=form.explanation.data or ""))
        if done is not None:
            flash(_("The bank is reconciled through %(day)s.", day=format_date(done.through)), "success")
            return redirect(url_for("books.bank", club_id=club_id))
    if not form.errors and not form.form_errors:
        abort(400)
    return _bank_page(club_id, getattr(form, "refusal_status", 400), reconcile_form=form)


# --- Audit log and charts ----------------------------------------------------------------------------------------


@bp.get("/clubs/<id:club_id>/audit")
def audit(club_id: int):
    enter_club(club_id, roles=set(OFFICER_ROLES))
    form = AuditFilterForm(request.args)
    form.member.choices = [("", _("Everybody"))] + [
        (m.user_id, m.user.name) for m in clubs.members_of(current_user.id, club_id,
                                                                statuses=tuple(MemberStatus))]
    form.object_type.choices = [("", _("Every object"))] + [(t, t) for t in books.audit_object_types(club_id)]
    before = request.args.get("before", "")
    if not form.validate() or (before and not (before.isascii() and before.isdigit() and len(before) < 18)):
        return render_template("books/audit.html", form=form, page=None, args={}), 400
    page = books.audit_log(current_user.id, club_id, actor_id=form.member.data,
                           object_type=form.object_type.data or None, object_id=form.object_id.data,
                           start=form.start.data, end=form.end.data, before_id=int(before) if before else None)
    args = {k: v for k, v in request.args.items() if k != "before" and v}
    return render_template("books/audit.html", form=form, page=page, args=args)


@bp.get("/clubs/<id:club_id>/books/charts")
def charts(club_id: int):
    _bookkeeper(club_id)
    history = fund.fund_history(current_user.id, club_id)
    labels_ = [format_date(p.month, "MMM yy") for p in history]
    cash = line_chart(labels_, [(_("Bank balance at the month's end"), "cash", [p.cash for p in history])])
    contributions = line_chart(labels_, [(_("Contributions received"), "contributions",
                                          [p.contributions for p in history])])
    time_months = timebank.minutes_per_month(current_user.id, club_id)
    exchanged = line_chart([format_date(m, "MMM yy") for m, _minutes in time_months],
                           [(_("Hours exchanged"), "time", [minutes // 60 for _m, minutes in time_months])])
    return render_template("books/charts.html", cash=cash, contributions=contributions, exchanged=exchanged,
                           history=history, time_months=time_months)


@bp.context_processor
def _flags():
    """Every books page says when a stated bank balance disagrees with the books."""
    member = g.get("membership")
    if member is None or not access.is_bookkeeper(member):
        return {"flagged": []}
    return {"flagged": books.flagged_assertions(member.club_id)}


# --- Year end and members' yearly statements ---------------------------------------------------------------


def _years_page(club_id: int, status: int = 200, **forms):
    me = _bookkeeper(club_id)
    shown = yearend.years(current_user.id, club_id)
    closed = [v for v in shown if v.closed]
    # The years close in order: the oldest year over and still open is the one to close; the latest closed
    # is the one that may be reopened.
    to_close = next((v.year for v in reversed(shown) if v.over and not v.closed), None)
    return render_template("books/years.html", years=shown, to_close=to_close,
                           to_reopen=closed[0].year if closed else None,
                           close_form=forms.get("close_form") or CloseYearForm(formdata=None),
                           reopen_form=forms.get("reopen_form") or ReopenYearForm(formdata=None),
                           members=clubs.members_of(current_user.id, club_id),
                           keeps_books=access.may_record_money(me)), status


@bp.get("/clubs/<id:club_id>/books/years")
def years(club_id: int):
    return _years_page(club_id)


@bp.post("/clubs/<id:club_id>/books/years/<int:year>/close")
def close_year(club_id: int, year: int):
    _bookkeeper(club_id)
    form = CloseYearForm()
    return post_on_page(form, lambda f: yearend.close_year(current_user.id, club_id, year, form_key=f.form_key.data),
                        _("The year %(year)d is closed: its result is shared into members' capital.", year=year),
                        url_for("books.years", club_id=club_id),
                        lambda status: _years_page(club_id, status, close_form=form))


@bp.post("/clubs/<id:club_id>/books/years/<int:year>/reopen")
def reopen_year(club_id: int, year: int):
    _bookkeeper(club_id)
    form = ReopenYearForm()
    return post_on_page(form, lambda f: yearend.reopen_year(current_user.id, club_id, year, f.reason.data,
                                                            form_key=f.form_key.data),
                        _("The year %(year)d is reopened: its closing entry is reversed.", year=year),
                        url_for("books.years", club_id=club_id),
                        lambda status: _years_page(club_id, status, reopen_form=form))


def category_labels() -> dict[str, str]:
    """The yearly statement's lines, in the reader's language."""
    return {
        "interest": _("Interest received (loans, current accounts)"),
        "dividends": _("Dividends received"),
        "gains": _("Gains on sales of shares"),
        "disposal_losses": _("Losses on sales of shares"),
        "write_offs": _("Investments written off"),
        "fees": _("Fees and other expenses"),
        "other": _("Other income and expenses"),
    }


@bp.get("/clubs/<id:club_id>/statements")
def statements(club_id: int):
    me = enter_club(club_id)
    keeper = access.is_bookkeeper(me)
    return render_template("books/statements.html", years=yearend.statement_years(current_user.id, club_id),
                           closed=yearend.closed_years(club_id),
                           members=clubs.members_of(current_user.id, club_id) if keeper else [])


def _yearly(club_id: int, year: int):
    enter_club(club_id)
    form = StatementMemberForm(request.args)
    if not form.validate():
        abort(400)
    return yearend.yearly_statement(current_user.id, club_id, year, form.member.data)


@bp.get("/clubs/<id:club_id>/statements/<int:year>")
def yearly_statement(club_id: int, year: int):
    shown = _yearly(club_id, year)
    args = {"member": shown.membership.id} if request.args.get("member") else {}
    return render_template("books/yearly_statement.html", st=shown, labels_of=category_labels(), args=args,
                           export=ExportForm(request.args), printing=request.args.get("print") == "1")


@bp.get("/clubs/<id:club_id>/statements/<int:year>.csv")
def yearly_statement_csv(club_id: int, year: int):
    shown = _yearly(club_id, year)
    if not ExportForm(request.args).validate():
        abort(400)
    rows = [[_("Member"), safe(shown.membership.user.name), ""], [_("Year"), str(year), ""],
            [_("Status"), _("year closed") if shown.close else _("provisional: the year is not closed"), ""],
            [_("Share of the year's result, in percent"), "", f"{shown.share_percent:.4f}".replace(".", cents_text(0)[1])]]
    rows += [[label, cents_text(shown.club[name]), cents_text(shown.mine[name])]
             for name, label in category_labels().items()]
    rows += [[_("Result of the year"), cents_text(sum_result(shown)), cents_text(shown.allocated)],
             [_("Capital on 1 January"), "", cents_text(shown.capital_start)],
             [_("Paid in during the year"), "", cents_text(shown.contributed)],
             [_("Paid back during the year"), "", cents_text(shown.paid_back)],
             [_("Capital on 31 December, the year's result included"), "", cents_text(shown.capital_end)]]
    return csv_response(f"statement-{year}-{shown.membership.id}.csv",
                        [_("Line"), _("Whole club"), _("Member's share")], rows)


def sum_result(shown) -> int:
    """The club's result of the year, as the statement's lines add up."""
    c = shown.club
    return (c["interest"] + c["dividends"] + c["gains"] - c["disposal_losses"] - c["write_offs"] - c["fees"]
            + c["other"])
