"""Import of ledger entries for one PPA from a CSV or Excel file: a template to fill, a dry run that shows what
each row would do, then all or nothing. A row whose reference is already recorded on the PPA for the same kind
(by an earlier import, by hand, or higher up in the same file) is skipped, so importing a file twice records
nothing twice.

    rows = read_rows(upload.filename, upload.stream)        # ValidationFailed on "file": type, size, columns
    outcome = import_entries(ppa, actor, rows, apply=False)  # the dry run: every row's result, nothing written
    outcome = import_entries(ppa, actor, rows, apply=True)   # written only when no row is refused

Each row goes through ledger.record_entry, in order and inside a savepoint of its own, so the rules (and the
effect of the rows above it, such as an obligation a later disbursement rests on) are exactly those of
recording by hand; the whole import runs inside one more savepoint, rolled back for a dry run or a refusal.
"""
import csv
import io
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from openpyxl import load_workbook

from ..auth.permissions import require
from ..errors import Conflict, NotAllowed, NotFound, ValidationFailed
from ..extensions import db
from ..workitems.models import WorkItem
from . import ledger
from .models import FinancialEntry

COLUMNS = ("work_item_id", "kind", "amount", "entry_date", "reference", "payee", "reason", "override")
REQUIRED = ("work_item_id", "kind", "amount", "entry_date")
MAX_ROWS = 1000
YES = {"1", "yes", "y", "true", "x"}


@dataclass(frozen=True)
class RowResult:
    number: int     # the row's number in the file (the header is row 1)
    values: dict    # as read (text)
    outcome: str    # "recorded", "to record" (dry run), "skipped" (already recorded) or "refused"
    message: str


@dataclass(frozen=True)
class ImportOutcome:
    results: list
    applied: bool   # written (only when asked and no row was refused)

    def count(self, outcome):
        return sum(1 for result in self.results if result.outcome == outcome)

    @property
    def refused(self):
        return self.count("refused")


def template_csv():
    """The file to fill: the columns, and one example row per kind."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerow(["123", "obligation", "250000.00", "2026-03-02", "ORS-2026-03-0012", "Supplier Inc.", "", ""])
    writer.writerow(["123", "disbursement", "100000.00", "2026-04-15", "DV-2026-04-0031", "Supplier Inc.", "", ""])
    writer.writerow(["123", "adjustment", "-5000.00", "2026-05-01", "", "", "Realigned to training", ""])
    return out.getvalue()


def _refuse_file(message):
    raise ValidationFailed(message, errors={"file": [message]})


def read_rows(filename, stream):
    """[(row number, {column: text})] of a .csv (UTF-8) or .xlsx file with the template's columns; blank rows
    are left out. ValidationFailed on "file" when it cannot be read, lacks a column or has too many rows."""
    name = (filename or "").lower()
    if name.endswith(".csv"):
        try:
            text = stream.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            _refuse_file("The file is not UTF-8 text: save it from the spreadsheet as “CSV UTF-8”.")
        if "\x00" in text:
            _refuse_file("The file holds control characters: is it really a CSV file?")
        table = list(csv.reader(io.StringIO(text)))
    elif name.endswith(".xlsx"):
        try:
            book = load_workbook(stream, read_only=True, data_only=True)
            table = [list(row) for row in book.worksheets[0].iter_rows(values_only=True, max_row=MAX_ROWS + 2)]
        except Exception:  # noqa: BLE001 — any reading failure is the file's, and says so
            _refuse_file("The file could not be read as an Excel workbook (.xlsx).")
    else:
        _refuse_file("Choose a .csv or .xlsx file made from the template.")
    if not table:
        _refuse_file("The file is empty.")
    header = [_cell(value).lower() for value in table[0]]
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        _refuse_file(f"The first row must name the columns; missing: {', '.join(missing)}.")
    rows = []
    for number, row in enumerate(table[1:], start=2):
        values = {column: _cell(row[index]) if index < len(row) else ""
                  for index, column in enumerate(header) if column in COLUMNS}
        if any(values.values()):
            rows.append((number, values))
    if not rows:
        _refuse_file("The file has no entries below its header.")
    if len(rows) > MAX_ROWS:
        _refuse_file(f"At most {MAX_ROWS:,} entries per file; split it.")
    return rows


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def import_entries(ppa, actor, rows, apply):
    """Every row's result; written only when `apply` and no row is refused (all or nothing)."""
    require(actor, "budget.record", ppa)
    recorded = {(kind, reference): entry_id for kind, reference, entry_id in db.session.execute(
        sa.select(FinancialEntry.kind, FinancialEntry.reference, FinancialEntry.id)
        .where(FinancialEntry.ppa_id == ppa.id, FinancialEntry.reference != ""))}
    results = []
    outer = db.session.begin_nested()
    for number, values in rows:
        results.append(_one(ppa, actor, number, values, recorded, apply))
    refused = any(result.outcome == "refused" for result in results)
    if apply and not refused:
        outer.commit()
    else:
        outer.rollback()
    return ImportOutcome(results, applied=apply and not refused)


def _one(ppa, actor, number, values, recorded, apply):
    kind, reference = values.get("kind", "").lower(), values.get("reference", "")
    if reference and (kind, reference) in recorded:
        return RowResult(number, values, "skipped", f"Already recorded as entry #{recorded[kind, reference]}.")
    item_id = values.get("work_item_id", "")
    item = db.session.get(WorkItem, int(item_id)) if item_id.isdigit() and len(item_id) < 10 else None
    if item is None or item.ppa_id != ppa.id:
        return RowResult(number, values, "refused", f"There is no work item #{item_id or '?'} in this PPA.")
    try:
        with db.session.begin_nested():
            entry = ledger.record_entry(item, actor, kind, values.get("amount"), values.get("entry_date"), reference,
                                        values.get("payee", ""), reason=values.get("reason") or None,
                                        override=values.get("override", "").lower() in YES)
    except (ValidationFailed, Conflict, NotAllowed, NotFound) as error:
        return RowResult(number, values, "refused", _said(error))
    if reference:
        recorded[kind, reference] = entry.id
    flag = " (beyond the allocation)" if entry.over_allocation else ""
    return RowResult(number, values, "recorded" if apply else "to record",
                     f"{ledger.KIND_LABELS[entry.kind]} on “{item.title}”{flag}.")


def _said(error):
    """What a refusal says, field by field when it names fields."""
    fields = getattr(error, "errors", None) or {}
    if fields:
        return " ".join(f"{name.replace('_', ' ')}: {' '.join(messages)}" for name, messages in fields.items())
    return str(getattr(error, "detail", None) or error)
