"""The ledger on the Budget tab: the stages table, a node's ledger dialog (paged, newest first), recording with
field errors that keep what was typed and write nothing, reversal with its 409, CSRF, scoping and statement pins."""
import json
import re
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from obcms.budget import ledger
from obcms.budget.models import FinancialEntry
from obcms.extensions import db
from obcms.workitems.models import WorkItem

HX = {"HX-Request": "true"}
D = Decimal


@pytest.fixture
def editor(signed_in):
    return signed_in("moa_staff")


@pytest.fixture
def funded(allocated):
    ppa, root, planning, implementation, _ = allocated
    return ppa, root, planning, implementation


@pytest.fixture
def posted(funded, users):
    """An obligation of ₱ 100.00 on Planning, committed."""
    entry = ledger.record_entry(funded[2], users["oobc_staff"], "obligation", "100", date(2026, 3, 1), "ORS-1", "")
    db.session.commit()
    return entry


@pytest.fixture
def signed_in(client_as, csrf_token):
    """signed_in("mfbm_analyst") → a client with its CSRF token as .token (for post())."""
    return lambda username: with_token(client_as(username), csrf_token)


def with_token(client, csrf_token):
    client.token = csrf_token(client)
    return client


def post(client, url, data, headers=HX):
    return client.post(url, data={"csrf_token": client.token, **data}, headers=headers)


def entry_form(**values):
    return {"kind": "obligation", "amount": "1,500.25", "entry_date": "2026-03-02", "reference": "ORS-7",
            "payee": "Supplier <b>Inc</b>", **values}


def count_entries():
    return db.session.scalar(sa.select(sa.func.count()).select_from(FinancialEntry))


def test_the_budget_tab_shows_the_stages_per_node_in_constant_queries(funded, editor, users, count_queries):
    ppa, root, planning, implementation = funded
    address = f"/ppas/{ppa.id}/budget"
    with count_queries() as few:
        html = editor.get(address, headers=HX).get_data(as_text=True)
    assert 'id="budget-stages"' in html and f'id="stage-{planning.id}"' in html
    assert f'href="/budget/work-items/{planning.id}/ledger"' in html
    for _ in range(3):
        ledger.record_entry(planning, users["oobc_staff"], "obligation", "100", date(2026, 3, 1), "ORS-1", "")
    ledger.record_entry(planning, users["oobc_staff"], "disbursement", "150", date(2026, 3, 1), "DV-1", "")
    db.session.commit()
    with count_queries() as many:
        html = editor.get(address, headers=HX).get_data(as_text=True)
    assert many.count == few.count
    row = re.search(rf'<tr id="stage-{planning.id}">(.*?)</tr>', html, re.S).group(1)
    assert "₱ 300.00" in row and "₱ 150.00" in row and "₱ 199,700.00" in row


def test_recording_from_the_ledger_dialog_rolls_up_and_swaps_the_stages(funded, editor):
    ppa, root, planning, _ = funded
    dialog = editor.get(f"/budget/work-items/{planning.id}/ledger?kind=disbursement", headers=HX).get_data(as_text=True)
    assert 'id="ledger-dialog"' in dialog and 'data-modal' in dialog
    assert re.search(r'<option selected value="disbursement">|<option value="disbursement" selected>', dialog)
    response = post(editor, f"/budget/work-items/{planning.id}/ledger", entry_form())
    assert response.status_code == 200, response.get_data(as_text=True)
    html = response.get_data(as_text=True)
    assert 'id="budget-stages" aria-labelledby="budget-stages-title" hx-swap-oob="true"' in html
    assert "Supplier &lt;b&gt;Inc&lt;/b&gt;" in html and "<b>Inc</b>" not in html
    assert "Obligation of ₱ 1,500.25 recorded" in json.loads(response.headers["HX-Trigger"])["obcms:toast"]["message"]
    db.session.expire_all()
    assert db.session.get(WorkItem, root.id).obligated == D("1500.25")


@pytest.mark.parametrize("values, field", [
    ({"amount": "-5"}, "amount"), ({"amount": "12.345"}, "amount"), ({"amount": "lots"}, "amount"),
    ({"amount": "300000"}, "amount"), ({"amount": "300000", "override": "y"}, "reason"),
    ({"kind": "disbursement"}, "amount"), ({"entry_date": "someday"}, "entry_date"), ({"reference": ""}, "reference"),
    ({"kind": "gift"}, "kind"), ({"payee": "p" * 201}, "payee"),
])
def test_hostile_input_is_a_422_with_a_field_error_keeping_what_was_typed(funded, editor, values, field):
    planning = funded[2]
    response = post(editor, f"/budget/work-items/{planning.id}/ledger", entry_form(**values))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'id="{field}-error"' in html or 'class="error-panel"' in html
    assert 'value="ORS-7"' in html or field == "reference"
    assert count_entries() == 0


def test_posting_without_csrf_is_refused(funded, editor):
    planning = funded[2]
    response = editor.post(f"/budget/work-items/{planning.id}/ledger", data=entry_form(), headers=HX)
    assert response.status_code == 400
    assert count_entries() == 0


def test_reversal_from_the_dialog_then_a_second_is_a_409_naming_who(funded, posted, editor, signed_in, users):
    planning, entry = funded[2], posted
    refused = post(editor, f"/budget/entries/{entry.id}/reverse", {"reason": " "})
    assert refused.status_code == 422 and f'id="reverse-reason-{entry.id}-error"' in refused.get_data(as_text=True)
    stale = signed_in("oobc_staff")
    assert post(editor, f"/budget/entries/{entry.id}/reverse", {"reason": "Wrong ORS"}).status_code == 200
    conflict = post(stale, f"/budget/entries/{entry.id}/reverse", {"reason": "Duplicate"})
    assert conflict.status_code == 409
    assert users["moa_staff"].display_name in conflict.get_data(as_text=True)
    html = editor.get(f"/budget/work-items/{planning.id}/ledger", headers=HX).get_data(as_text=True)
    assert "Reversed by" in html and f"Reversal of #{entry.id}" in html
    db.session.expire_all()
    assert db.session.get(WorkItem, planning.id).obligated == D("0.00")


def test_the_ledger_pages_by_50_newest_first_in_constant_queries(funded, editor, users, count_queries):
    planning = funded[2]
    for n in range(51):
        ledger.record_entry(planning, users["oobc_staff"], "obligation", "1", date(2026, 3, 1), f"ORS-{n}", "")
    db.session.commit()
    url = f"/budget/work-items/{planning.id}/ledger"
    with count_queries() as q:
        first = editor.get(url, headers=HX).get_data(as_text=True)
    assert first.count('<tr id="entry-') == 50 and "ORS-50" in first and "ORS-0<" not in first
    assert 'rel="next"' in first
    with count_queries() as q2:
        second = editor.get(url + "?page=2", headers={**HX, "HX-Target": "ledger-body"}).get_data(as_text=True)
    assert second.count('<tr id="entry-') == 1 and "ORS-0<" in second and 'rel="prev"' in second
    assert q2.count == q.count


def test_readers_see_the_ledger_but_may_not_record_or_reverse(funded, posted, signed_in):
    planning, entry = funded[2], posted
    reader = signed_in("mfbm_analyst")
    html = reader.get(f"/budget/work-items/{planning.id}/ledger", headers=HX).get_data(as_text=True)
    assert "ORS-1" in html and "Reverse…" not in html and 'name="amount"' not in html
    assert post(reader, f"/budget/work-items/{planning.id}/ledger", entry_form()).status_code == 403
    assert post(reader, f"/budget/entries/{entry.id}/reverse", {"reason": "no"}).status_code == 403


def test_another_organizations_ledger_and_entries_are_404(funded, posted, signed_in):
    planning, entry = funded[2], posted
    other = signed_in("other_moa_staff")
    assert other.get(f"/budget/work-items/{planning.id}/ledger").status_code == 404
    assert post(other, f"/budget/work-items/{planning.id}/ledger", entry_form()).status_code == 404
    assert post(other, f"/budget/entries/{entry.id}/reverse", {"reason": "x"}).status_code == 404
    assert post(other, "/budget/entries/999999/reverse", {"reason": "x"}).status_code == 404


def test_the_ledger_without_htmx_is_a_page_and_a_post_redirects(funded, editor):
    planning = funded[2]
    page = editor.get(f"/budget/work-items/{planning.id}/ledger")
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    response = post(editor, f"/budget/work-items/{planning.id}/ledger", entry_form(), headers={})
    assert response.status_code == 303


def test_deleting_an_item_whose_entries_were_reversed_is_a_clear_refusal(funded, posted, editor):
    """Reversed to 0, its ledger history stays: the delete dialog answers 422 saying why, never a 500."""
    planning = funded[2]
    assert post(editor, f"/budget/entries/{posted.id}/reverse", {"reason": "Wrong ORS"}).status_code == 200
    db.session.expire_all()
    version = db.session.get(WorkItem, planning.id).version
    refused = post(editor, f"/work-items/{planning.id}/delete", {"version": str(version)})
    assert refused.status_code == 422 and "never deleted" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(WorkItem, planning.id) is not None
