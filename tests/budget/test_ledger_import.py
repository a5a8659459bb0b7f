"""Ledger entries imported from a file: the template, a check that shows every row's result and writes nothing,
an import that writes every row or none, a second import of the same file that records nothing twice, files
that cannot be read, and who may import where."""
import io
import json
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from obcms.budget.models import FinancialEntry
from obcms.extensions import db
from obcms.workitems.models import WorkItem

D = Decimal


@pytest.fixture
def funded(allocated):
    ppa, _, planning, _, evaluation = allocated
    return ppa, planning, evaluation


@pytest.fixture
def editor(client_as, csrf_token):
    client = client_as("moa_staff")
    client.token = csrf_token(client)
    return client


def csv_file(rows, header="work_item_id,kind,amount,entry_date,reference,payee,reason,override"):
    return (io.BytesIO(("\ufeff" + "\n".join([header, *rows]) + "\n").encode()), "entries.csv")


def post(client, ppa, **data):
    return client.post(f"/budget/ppas/{ppa.id}/import", data={"csrf_token": client.token, **data},
                       content_type="multipart/form-data")


def count_entries():
    return db.session.scalar(sa.select(sa.func.count()).select_from(FinancialEntry))


def carried_rows(html):
    value = re.search(r'name="rows" value="([^"]*)"', html).group(1)
    return value.replace("&#34;", '"').replace("&quot;", '"').replace("&amp;", "&")


def test_the_template_downloads_with_the_columns(funded, editor):
    ppa = funded[0]
    response = editor.get(f"/budget/ppas/{ppa.id}/import/template.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.get_data(as_text=True).splitlines()[0] == \
        "work_item_id,kind,amount,entry_date,reference,payee,reason,override"


def test_check_shows_every_row_and_writes_nothing_then_import_writes_all(funded, editor):
    ppa, planning, evaluation = funded
    rows = [f"{planning.id},obligation,\"150,000.00\",2026-03-02,ORS-1,Supplier,,",
            f"{planning.id},disbursement,100000,2026-04-02,DV-1,Supplier,,",  # rests on the row above
            f"{evaluation.id},obligation,5000.50,2026-03-05,ORS-2,<b>Hall</b>,,"]
    checked = post(editor, ppa, action="check", file=csv_file(rows))
    html = checked.get_data(as_text=True)
    assert checked.status_code == 200 and count_entries() == 0
    assert html.count(">to record<") == 3 and "Import 3 entries" in html and "<b>Hall</b>" not in html
    imported = post(editor, ppa, action="import", rows=carried_rows(html))
    assert imported.status_code == 200 and "Imported 3 entries" in imported.get_data(as_text=True)
    db.session.expire_all()
    assert count_entries() == 3
    assert (db.session.get(WorkItem, planning.id).obligated, db.session.get(WorkItem, planning.id).disbursed) == \
        (D("150000.00"), D("100000.00"))


def test_one_refused_row_imports_nothing_and_says_why(funded, editor):
    ppa, planning, evaluation = funded
    rows = [f"{planning.id},obligation,1000,2026-03-02,ORS-1,,,",
            f"{evaluation.id},disbursement,50,2026-03-02,DV-9,,,",  # nothing obligated there
            "999999,obligation,10,2026-03-02,ORS-3,,,",
            f"{planning.id},obligation,abc,2026-13-40,ORS-4,,,"]
    checked = post(editor, ppa, action="check", file=csv_file(rows))
    html = checked.get_data(as_text=True)
    assert checked.status_code == 200 and html.count(">refused<") == 3 and "Import" not in html.split("What the file")[1]
    assert "There is no work item #999999 in this PPA." in html and "amount:" in html and "entry date:" in html
    columns = ["work_item_id", "kind", "amount", "entry_date", "reference"]
    carried = [[n + 2, dict(zip(columns, row.split(",")[:5], strict=True))] for n, row in enumerate(rows)]
    forced = post(editor, ppa, action="import", rows=json.dumps(carried))  # the rows sent for import regardless
    assert forced.status_code == 422 and "nothing was imported" in forced.get_data(as_text=True)
    assert count_entries() == 0


def test_importing_the_same_file_again_records_nothing_twice(funded, editor):
    ppa, planning, _ = funded
    rows = [f"{planning.id},obligation,1000,2026-03-02,ORS-7,,,", f"{planning.id},obligation,500,2026-03-03,ORS-7,,,"]
    html = post(editor, ppa, action="check", file=csv_file(rows)).get_data(as_text=True)
    assert ">to record<" in html and "Already recorded as entry" not in html.split(">to record<")[0]
    assert html.count(">skipped<") == 1  # the second ORS-7 of the same file
    post(editor, ppa, action="import", rows=carried_rows(html))
    again = post(editor, ppa, action="check", file=csv_file(rows)).get_data(as_text=True)
    assert again.count(">skipped<") == 2 and "Import" not in again.split("What the file")[1]
    db.session.expire_all()
    assert count_entries() == 1 and db.session.get(WorkItem, planning.id).obligated == D("1000.00")


def test_an_excel_file_reads_like_the_csv(funded, editor):
    ppa, planning, _ = funded
    book = Workbook()
    sheet = book.active
    sheet.append(["work_item_id", "kind", "amount", "entry_date", "reference"])
    sheet.append([planning.id, "obligation", 1234.5, "2026-03-02", "ORS-X"])
    data = io.BytesIO()
    book.save(data)
    data.seek(0)
    html = post(editor, ppa, action="check", file=(data, "entries.xlsx")).get_data(as_text=True)
    assert html.count(">to record<") == 1 and "1234.5" in html


@pytest.mark.parametrize("upload, message", [
    ((io.BytesIO(b"\xff\xfe\x00garbage"), "entries.csv"), "not UTF-8"),
    ((io.BytesIO(b"hello"), "entries.pdf"), "Choose a .csv or .xlsx"),
    ((io.BytesIO(b"not a zip"), "entries.xlsx"), "could not be read"),
    ((io.BytesIO(b"kind,amount\nobligation,5\n"), "entries.csv"), "missing: work_item_id, entry_date"),
    ((io.BytesIO(b"work_item_id,kind,amount,entry_date\n"), "entries.csv"), "no entries"),
])
def test_files_that_cannot_be_read_are_a_field_error(funded, editor, upload, message):
    response = post(editor, funded[0], action="check", file=upload)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert count_entries() == 0


def test_tampered_carried_rows_are_refused_or_checked_again(funded, editor):
    ppa, planning, _ = funded
    assert post(editor, ppa, action="import", rows="[not json").status_code == 422
    sneaky = json.dumps([[2, {"work_item_id": str(planning.id), "kind": "obligation", "amount": "-5",
                              "entry_date": "2026-03-02", "reference": "ORS-Z"}]])
    assert post(editor, ppa, action="import", rows=sneaky).status_code == 422 and count_entries() == 0


def test_readers_and_other_organizations_may_not_import(funded, client_as, csrf_token, make_tracked_ppa):
    ppa = funded[0]
    viewer = client_as("viewer")
    assert viewer.get(f"/budget/ppas/{ppa.id}/import").status_code == 403
    assert client_as("other_moa_staff").get(f"/budget/ppas/{ppa.id}/import").status_code == 404
