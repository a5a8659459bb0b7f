"""The distribution modal (HX requests, live preview, Apply disabled until valid, out-of-band swaps, 409/422
inside the dialog), the Budget tab (allocation tree, history) and restore."""
import json
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from obcms.audit.models import AuditEntry
from obcms.budget import services
from obcms.budget.models import Distribution
from obcms.extensions import db
from obcms.htmx import TREE_CHANGED
from obcms.ppas.models import Ppa
from obcms.workitems import services as workitem_services
from obcms.workitems.models import WorkItem

HX = {"HX-Request": "true"}


def dialog_url(node, **args):
    query = "&".join(f"{k}={v}" for k, v in args.items())
    return f"/budget/work-items/{node.id}/distribute" + (f"?{query}" if query else "")


def versions_of(node):
    return {f"v-{k}": str(v) for k, v in services.preview_distribution(node, "equal", {}).versions.items()}


def apply_button(html):
    return re.search(r"<button[^>]*>Apply</button>", html).group(0)


def allocations(*items):
    db.session.expire_all()
    return [str(db.session.get(WorkItem, item.id).allocated_budget) for item in items]


@pytest.fixture
def editor(client_as, csrf_token):
    client = client_as("moa_staff")
    client.token = csrf_token(client)
    return client


def post(client, url, data, headers=HX):
    return client.post(url, data={"csrf_token": client.token, **data}, headers=headers)


def test_the_dialog_lists_the_children_with_their_allocation_and_the_method_switch(tracked, editor, count_queries):
    _, root, kids = tracked
    address = dialog_url(root, method="weighted")
    with count_queries() as q:
        response = editor.get(address, headers=HX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith("<dialog id=\"distribute-dialog\"") and "<html" not in html
    assert "data-modal" in html and " open" not in html.split(">")[0]
    for kid in kids:
        assert f'name="weight-{kid.id}"' in html and kid.title in html
    assert 'value="33.34"' in html and html.count('value="33.33"') == 2  # equal weights to start with
    assert "₱ 333,400.00" in html and 'name="amount" value="1000000.00"' in html
    assert 'hx-trigger="input changed delay:300ms, submit"' in html
    for label in ("Equal", "Weighted", "Manual"):
        assert f">{label}</a>" in html
    assert "disabled" not in apply_button(html)
    assert q.count <= 3


def test_the_dialog_works_as_a_plain_page(tracked, editor):
    _, root, kids = tracked
    html = editor.get(dialog_url(root, method="manual")).get_data(as_text=True)
    assert "<html" in html and '<dialog id="distribute-dialog" class="dist-dialog"' in html
    assert re.search(r'<dialog id="distribute-dialog"[^>]* open', html)
    assert f'name="amount-{kids[0].id}" value="0.00"' in html
    assert "disabled" in apply_button(html)  # manual amounts start at the current allocations: 0 ≠ the amount


def test_switching_method_renders_the_body_only(tracked, editor):
    _, root, kids = tracked
    html = editor.get(dialog_url(root, method="manual", amount="90"),
                      headers={**HX, "HX-Target": "distribute-body"}).get_data(as_text=True)
    assert "<dialog" not in html and f'name="amount-{kids[0].id}"' in html and 'value="90"' in html


def test_live_preview_errors_name_the_child_and_apply_stays_disabled_nothing_written(tracked, editor):
    _, root, (planning, implementation, evaluation) = tracked
    data = {"method": "weighted", "amount": "1000000.00", f"weight-{planning.id}": "-5",
            f"weight-{implementation.id}": "50.555", f"weight-{evaluation.id}": "20", **versions_of(root)}
    response = post(editor, f"/budget/work-items/{root.id}/distribute/preview", data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<footer id="distribute-foot"')
    assert "disabled" in apply_button(html)
    assert "Planning: The weight must be 0 or more." in html
    assert "Implementation: The weight may have at most 2 decimals." in html
    assert f'<td id="dist-share-{evaluation.id}" class="money dist-share changed" hx-swap-oob="true">₱ 200,000.00' in html
    assert f'id="dist-share-{planning.id}" class="money dist-share has-error" hx-swap-oob="true"' in html
    assert "<input" not in html  # never replaces what the user is typing
    data.update({f"weight-{planning.id}": "30", f"weight-{implementation.id}": "50"})
    html = post(editor, f"/budget/work-items/{root.id}/distribute/preview", data).get_data(as_text=True)
    assert "disabled" not in apply_button(html) and "Remainder" in html
    assert "₱ 500,000.00" in html
    data[f"weight-{evaluation.id}"] = "19.99"
    html = post(editor, f"/budget/work-items/{root.id}/distribute/preview", data).get_data(as_text=True)
    assert "they must add up to exactly 100 % (0.01 % missing)" in html and "disabled" in apply_button(html)
    manual = {"method": "manual", "amount": "100.00", f"amount-{planning.id}": "33.33",
              f"amount-{implementation.id}": "33.33", f"amount-{evaluation.id}": "33.33"}
    html = post(editor, f"/budget/work-items/{root.id}/distribute/preview", manual).get_data(as_text=True)
    assert "₱ 0.01 left to distribute" in html and "disabled" in apply_button(html)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Distribution)) == 0
    assert allocations(planning, implementation, evaluation) == ["0.00"] * 3


def test_apply_from_the_tree_swaps_cells_and_stat_cards_and_closes_the_dialog(tracked, editor):
    ppa, root, (planning, implementation, evaluation) = tracked
    data = {"method": "weighted", "from": "tree", "amount": "1000000.00", f"weight-{planning.id}": "20",
            f"weight-{implementation.id}": "60", f"weight-{evaluation.id}": "20", **versions_of(root)}
    response = post(editor, f"/budget/work-items/{root.id}/distribute", data,
                    headers={**HX, "HX-Current-URL": f"http://localhost/work-items/{root.id}?open={implementation.id}"})
    assert response.status_code == 200
    assert allocations(planning, implementation, evaluation) == ["200000.00", "600000.00", "200000.00"]
    html = response.get_data(as_text=True)
    assert response.headers["HX-Reswap"] == "none" and "X-Tree" not in response.headers
    assert '<tr id="wi-' not in html  # only cells change: the rows stay, with their open branches
    for kid, amount in ((planning, "200,000.00"), (implementation, "600,000.00"), (evaluation, "200,000.00")):
        assert re.search(rf'<td id="wi-{kid.id}-allocated" class="money hide-phone" hx-swap-oob="true">₱ {amount}</td>', html)
    assert f'id="wi-{root.id}-allocated" class="money hide-phone" hx-swap-oob="true"' in html
    assert f'id="wi-stats-{root.id}" class="cards wi-stats" hx-swap-oob="true"' in html
    assert "₱ 600,000.00" in html
    assert json.loads(response.headers["HX-Trigger"])["obcms:toast"]["message"].startswith("Distributed ₱ 1,000,000.00")
    assert TREE_CHANGED in json.loads(response.headers["HX-Trigger"])  # the PPA page's header reloads
    assert json.loads(response.headers["HX-Trigger-After-Settle"]) == {"obcms:close-dialog": {"id": "distribute-dialog"}}


def test_apply_from_the_budget_tab_swaps_the_allocation_tree_and_history(tracked, editor, count_queries):
    _, root, kids = tracked
    data = {"method": "equal", "from": "budget", "amount": "300", **versions_of(root)}
    url = f"/budget/work-items/{root.id}/distribute"
    db.session.commit()
    with count_queries() as q:
        response = post(editor, url, data)
    assert response.status_code == 200 and response.headers["HX-Reswap"] == "none"
    assert q.count <= 10  # the apply's 8, the allocation tree, the history (titles from the allocation tree)
    html = response.get_data(as_text=True)
    assert '<section class="card" id="budget-allocation" aria-labelledby="budget-allocation-title" hx-swap-oob="true">' in html
    assert 'id="budget-history"' in html and "Equal · ₱ 300.00" in html
    assert allocations(*kids) == ["100.00"] * 3


def test_a_stale_apply_answers_409_inside_the_dialog_keeping_the_entries(tracked, editor, users):
    from obcms.workitems import services as workitem_services

    _, root, (planning, implementation, evaluation) = tracked
    data = {"method": "manual", "amount": "1000", f"amount-{planning.id}": "100",
            f"amount-{implementation.id}": "800", f"amount-{evaluation.id}": "100", **versions_of(root)}
    workitem_services.update_work_item(evaluation, evaluation.version, users["oobc_staff"], title="Final evaluation")
    db.session.commit()
    response = post(editor, f"/budget/work-items/{root.id}/distribute", data)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "HX-Retarget" not in response.headers and "<dialog" not in html
    assert "Someone changed this first" in html
    assert re.search(r"<td>Final evaluation · title</td><td>Final evaluation</td><td>—</td><td>[^<]+</td>", html)
    assert ">Apply mine again</button>" in html and ">Keep theirs</a>" in html
    assert f'name="amount-{implementation.id}" value="800"' in html
    db.session.expire_all()
    fresh = db.session.get(WorkItem, evaluation.id).version
    assert f'name="v-{evaluation.id}" value="{fresh}"' in html  # applying again uses the current versions
    assert allocations(planning, implementation, evaluation) == ["0.00"] * 3


def test_an_invalid_apply_answers_422_naming_the_child(tracked, editor):
    _, root, (planning, implementation, evaluation) = tracked
    data = {"method": "manual", "amount": "1000", f"amount-{planning.id}": "100",
            f"amount-{implementation.id}": "-800", f"amount-{evaluation.id}": "100", **versions_of(root)}
    response = post(editor, f"/budget/work-items/{root.id}/distribute", data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Implementation: The amount must be 0 or more." in html and "disabled" in apply_button(html)
    assert allocations(planning, implementation, evaluation) == ["0.00"] * 3


def test_plain_form_apply_redirects(tracked, editor):
    ppa, root, kids = tracked
    response = post(editor, f"/budget/work-items/{root.id}/distribute",
                    {"method": "equal", "from": "budget", **versions_of(root)}, headers={})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/ppas/{ppa.id}/budget")
    assert allocations(*kids) == ["333333.34", "333333.33", "333333.33"]


def test_apply_needs_the_csrf_token(tracked, editor):
    _, root, kids = tracked
    response = editor.post(f"/budget/work-items/{root.id}/distribute", data={"method": "equal", **versions_of(root)})
    assert response.status_code == 400
    assert allocations(*kids) == ["0.00"] * 3


@pytest.mark.parametrize(("username", "status"), [("viewer", 403), ("mfbm_analyst", 403), ("other_moa_staff", 404)])
def test_who_may_open_the_dialog(tracked, client_as, username, status):
    _, root, _ = tracked
    assert client_as(username).get(dialog_url(root), headers=HX).status_code == status


def test_the_tree_view_offers_distribution_on_ppa_containers(tracked, editor):
    _, root, (planning, implementation, _) = tracked
    html = editor.get(f"/work-items/{root.id}").get_data(as_text=True)
    assert f'href="/budget/work-items/{root.id}/distribute"' in html  # toolbar
    assert f'href="/budget/work-items/{implementation.id}/distribute"' in html  # its row menu
    assert f'href="/budget/work-items/{planning.id}/distribute"' not in html  # a leaf has nothing to share


def test_the_budget_tab_shows_the_allocation_tree_and_history_in_constant_queries(tracked, editor, users, client_as,
                                                                                   count_queries):
    ppa, root, (planning, implementation, evaluation) = tracked
    actor = users["oobc_staff"]
    services.apply_distribution(root, "equal", {}, actor, services.preview_distribution(root, "equal", {}).versions)
    db.session.commit()
    address = f"/ppas/{ppa.id}/budget"
    with count_queries() as few:
        html = editor.get(address, headers=HX).get_data(as_text=True)
    assert 'id="budget-allocation"' in html and 'id="budget-history"' in html and 'id="budget-dialog"' in html
    assert f'id="alloc-{implementation.id}"' in html and "₱ 333,333.33" in html and "100.00 %" in html
    assert re.search(r"#\d+ · Equal · ₱ 1,000,000.00", html)
    assert "Undo this distribution…" in html and "Restore…" not in html  # the latest one is undone, not restored
    for _ in range(3):
        services.apply_distribution(implementation, "equal", {},
                                    actor, services.preview_distribution(implementation, "equal", {}).versions)
    db.session.commit()
    with count_queries() as many:
        html = editor.get(address, headers=HX).get_data(as_text=True)
    assert many.count == few.count
    assert html.count('class="dist-entry"') == 4
    viewer_html = client_as("viewer").get(address, headers=HX).get_data(as_text=True)
    assert "Restore…" not in viewer_html and "Undo this" not in viewer_html and "Distribute budget" not in viewer_html


def test_restore_confirms_then_applies_again_and_refuses_when_children_changed(tracked, editor, users):
    from obcms.workitems import services as workitem_services

    ppa, root, (planning, implementation, evaluation) = tracked
    actor = users["oobc_staff"]
    inputs = {planning.id: "100", implementation.id: "800", evaluation.id: "100"}
    first = services.apply_distribution(root, "manual", inputs, actor,
                                        services.preview_distribution(root, "manual", inputs, "1000").versions, "1000")
    services.apply_distribution(root, "equal", {}, actor, services.preview_distribution(root, "equal", {}).versions)
    db.session.commit()
    first_id = first.id
    html = editor.get(f"/budget/distributions/{first_id}/restore", headers=HX).get_data(as_text=True)
    assert html.lstrip().startswith('<dialog id="restore-dialog"') and "Implementation: ₱ 800.00" in html
    response = post(editor, f"/budget/distributions/{first_id}/restore", {})
    assert response.status_code == 200 and response.headers["HX-Reswap"] == "none"
    assert 'id="budget-history"' in response.get_data(as_text=True)
    assert allocations(planning, implementation, evaluation) == ["100.00", "800.00", "100.00"]
    assert json.loads(response.headers["HX-Trigger-After-Settle"]) == {"obcms:close-dialog": {"id": "restore-dialog"}}
    workitem_services.create_work_item(root, actor, title="Late", work_type="activity")
    db.session.commit()
    response = post(editor, f"/budget/distributions/{first_id}/restore", {})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "cannot be restored" in html and "Late" in html and "<dialog" not in html


def test_restore_of_another_moas_distribution_is_404(tracked, client_as, users):
    _, root, _ = tracked
    record = services.apply_distribution(root, "equal", {}, users["oobc_staff"],
                                         services.preview_distribution(root, "equal", {}).versions)
    db.session.commit()
    assert client_as("other_moa_staff").get(f"/budget/distributions/{record.id}/restore").status_code == 404
    assert client_as("viewer").get(f"/budget/distributions/{record.id}/restore").status_code == 403


def test_preview_and_apply_run_a_constant_number_of_queries(make_tracked_ppa, editor, count_queries):
    _, root, kids = make_tracked_ppa(children=[f"Part {i}" for i in range(50)])
    data = {"method": "equal", "from": "tree", **versions_of(root)}
    db.session.commit()
    preview_url, apply_url = f"/budget/work-items/{root.id}/distribute/preview", f"/budget/work-items/{root.id}/distribute"
    with count_queries() as preview:
        assert post(editor, preview_url, data).status_code == 200
    assert preview.count <= 3  # the user, the node (scope), the family
    with count_queries() as applying:
        response = post(editor, apply_url, data, headers={**HX, "HX-Current-URL": "http://localhost/work-items/1"})
    assert response.status_code == 200
    # the user, the tree lock, the lock read (lineage), the family (scope checked on it), the record INSERT, ONE
    # UPDATE (allocations + roll-ups), the PPA sync's SELECT, ONE audit INSERT; the cells of the changed rows
    assert applying.count <= 9
    assert allocations(kids[0])[0] == "20000.00"


def test_apply_that_moves_the_roll_ups_and_the_ppa_stays_within_ten_queries(make_tracked_ppa, editor, users,
                                                                            count_queries):
    ppa, root, kids = make_tracked_ppa(children=[f"Part {i}" for i in range(50)])
    workitem_services.update_work_item(kids[0], kids[0].version, users["oobc_staff"], progress=100)
    data = {"method": "manual", "from": "tree", f"amount-{kids[0].id}": "500000.00",
            **{f"amount-{kid.id}": "10204.08" for kid in kids[1:]}, **versions_of(root)}
    data[f"amount-{kids[1].id}"] = "10204.16"
    url = f"/budget/work-items/{root.id}/distribute"
    db.session.commit()
    assert db.session.get(Ppa, ppa.id).progress == 2
    with count_queries() as applying:
        response = post(editor, url, data, headers=HX)
    assert response.status_code == 200, response.get_data(as_text=True)
    # as above, and the PPA's UPDATE (its audit rows ride in the one audit INSERT)
    assert applying.count <= 10
    db.session.expire_all()
    assert db.session.get(WorkItem, root.id).progress == 50  # weighted by the new budgets
    assert db.session.get(Ppa, ppa.id).progress == 50
    causes = db.session.execute(sa.select(AuditEntry.object_type, AuditEntry.field, AuditEntry.cause)
                                .where(AuditEntry.field == "progress", AuditEntry.action == "update")
                                .order_by(AuditEntry.id.desc()).limit(2)).all()
    assert {(t, f) for t, f, _ in causes} == {("work_item", "progress"), ("ppa", "progress")}



def test_undo_brings_back_the_before_values_and_refuses_after_a_later_change(tracked, editor, users):
    """Undo on the latest distribution gives the items what they held before it (a new record that says what
    it undoes); once someone changed an allocation since, undoing would overwrite that: 409, nothing written."""
    from obcms.workitems import services as workitem_services

    ppa, root, (planning, implementation, evaluation) = tracked
    actor = users["oobc_staff"]
    inputs = {planning.id: "100", implementation.id: "800", evaluation.id: "100"}
    services.apply_distribution(root, "manual", inputs, actor,
                                services.preview_distribution(root, "manual", inputs, "1000").versions, "1000")
    latest = services.apply_distribution(root, "equal", {}, actor,
                                         services.preview_distribution(root, "equal", {}).versions)
    db.session.commit()
    assert allocations(planning, implementation, evaluation) == ["333333.34", "333333.33", "333333.33"]
    html = editor.get(f"/budget/distributions/{latest.id}/undo", headers=HX).get_data(as_text=True)
    assert "Undo distribution #" in html and "Implementation: ₱ 333,333.33 → ₱ 800.00" in html
    response = post(editor, f"/budget/distributions/{latest.id}/undo", {})
    assert response.status_code == 200
    assert allocations(planning, implementation, evaluation) == ["100.00", "800.00", "100.00"]
    assert f"undoes #{latest.id}" in response.get_data(as_text=True)

    again = services.apply_distribution(root, "equal", {}, actor,
                                        services.preview_distribution(root, "equal", {}).versions)
    db.session.commit()
    db.session.refresh(planning)
    workitem_services.update_work_item(planning, planning.version, actor, allocated_budget=Decimal("1.00"))
    db.session.commit()
    response = post(editor, f"/budget/distributions/{again.id}/undo", {})
    assert response.status_code == 409 and "cannot be undone" in response.get_data(as_text=True)
    assert "<td>Allocations</td><td>Planning</td>" in response.get_data(as_text=True)
    assert "Distribute again</a> from the current figures" in response.get_data(as_text=True)
    assert allocations(planning, implementation, evaluation)[0] == "1.00"


def test_the_dialog_shows_each_items_minimum(tracked, editor, users):
    """An item whose own items already hold money cannot get less: the dialog says how much, per row."""
    _, root, (planning, implementation, evaluation) = tracked
    actor = users["oobc_staff"]
    services.apply_distribution(root, "equal", {}, actor, services.preview_distribution(root, "equal", {}).versions)
    db.session.refresh(implementation)
    one, two = db.session.scalars(sa.select(WorkItem.id).where(WorkItem.parent_id == implementation.id)
                                  .order_by(WorkItem.lft)).all()
    amounts = {one: "500", two: "0"}
    services.apply_distribution(implementation, "manual", amounts, actor,
                                services.preview_distribution(implementation, "manual", amounts, "500").versions,
                                "500")
    db.session.commit()
    html = editor.get(f"/budget/work-items/{root.id}/distribute", headers=HX).get_data(as_text=True)
    assert "at least ₱ 500.00: what its items hold" in html
    assert html.count("dist-minimum") == 1  # the items with nothing below say nothing


def _split_implementation(tracked, actor):
    """Planning 200,000 · Implementation 600,000 (Phase 1, Phase 2: 300,000 each) · Evaluation 200,000."""
    _, root, (planning, implementation, evaluation) = tracked
    for node, method, inputs in ((root, "manual", {planning.id: "200000", implementation.id: "600000",
                                                   evaluation.id: "200000"}), (implementation, "equal", {})):
        services.apply_distribution(node, method, inputs, actor,
                                    {int(k[2:]): int(v) for k, v in versions_of(node).items()})


def test_a_short_share_offers_a_rescale_previewed_in_the_dialog_then_applied_with_the_cells_below(tracked, editor,
                                                                                                   users):
    """Planning · Implementation (Phase 1, Phase 2 at 300,000 each) · Evaluation: giving Implementation
    100,000 is refused until the user asks to rescale its items; the preview shows what each gets, Apply
    writes it all and sends the rescaled rows' cells when the page shows them."""
    _, root, (planning, implementation, evaluation) = tracked
    _split_implementation(tracked, users["moa_staff"])
    phases = db.session.scalars(sa.select(WorkItem).where(WorkItem.parent_id == implementation.id)
                                .order_by(WorkItem.lft)).all()
    form = {"method": "manual", f"amount-{planning.id}": "600000", f"amount-{implementation.id}": "100000",
            f"amount-{evaluation.id}": "300000", **versions_of(root)}

    html = post(editor, f"/budget/work-items/{root.id}/distribute/preview", form).get_data(as_text=True)
    assert "disabled" in apply_button(html)
    assert 'name="rescale" value="1"' in html and "Scale down the items under Implementation" in html

    html = post(editor, f"/budget/work-items/{root.id}/distribute/preview", {**form, "rescale": "1"}).get_data(
        as_text=True)
    assert "disabled" not in apply_button(html) and 'name="rescale" value="1" checked' in html
    assert "2 items below scaled down" in html
    assert "Phase 1: ₱ 300,000.00 → ₱ 50,000.00" in html
    rescaled = dict(re.findall(r'name="(rv-\d+)" value="(\d+)"', html))
    assert set(rescaled) == {f"rv-{p.id}" for p in phases}
    assert allocations(implementation, *phases) == ["600000.00", "300000.00", "300000.00"]

    response = post(editor, f"/budget/work-items/{root.id}/distribute", {**form, "rescale": "1", **rescaled},
                    headers={**HX, "HX-Current-URL": f"http://localhost/work-items/{root.id}?open={implementation.id}"})
    assert response.status_code == 200
    assert allocations(planning, implementation, evaluation, *phases) == [
        "600000.00", "100000.00", "300000.00", "50000.00", "50000.00"]
    body = response.get_data(as_text=True)
    for phase in phases:  # shown (Implementation is open): their cells come out of band
        assert re.search(rf'id="wi-{phase.id}-allocated"[^>]*hx-swap-oob="true">₱ 50,000.00<', body)
    closed = post(editor, f"/budget/work-items/{root.id}/distribute/preview", form)  # (a read: nothing written)
    assert closed.status_code == 200
    history = editor.get(f"/ppas/{tracked[0].id}/budget").get_data(as_text=True)
    assert "2 items below were rescaled with it" in history


def test_a_rescale_whose_items_changed_since_the_preview_answers_409_with_the_new_figures(tracked, editor, users):
    _, root, (planning, implementation, evaluation) = tracked
    _split_implementation(tracked, users["moa_staff"])
    form = {"method": "manual", f"amount-{planning.id}": "600000", f"amount-{implementation.id}": "100000",
            f"amount-{evaluation.id}": "300000", "rescale": "1", **versions_of(root)}
    html = post(editor, f"/budget/work-items/{root.id}/distribute/preview", form).get_data(as_text=True)
    rescaled = dict(re.findall(r'name="(rv-\d+)" value="(\d+)"', html))
    phase = db.session.scalar(sa.select(WorkItem).where(WorkItem.title == "Phase 2"))
    workitem_services.update_work_item(phase, phase.version, users["oobc_staff"], allocated_budget="100000")

    response = post(editor, f"/budget/work-items/{root.id}/distribute", {**form, **rescaled})

    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Phase 2" in html and "changed after the preview" in html
    assert "Phase 1: ₱ 300,000.00 → ₱ 50,000.00" in html and "Phase 2: ₱ 100,000.00 → ₱ 16,666.66" in html
    assert allocations(implementation) == ["600000.00"]


def test_a_409_on_a_changed_allocation_shows_theirs_and_yours_side_by_side(tracked, editor, users):
    _, root, (planning, implementation, evaluation) = tracked
    data = {"method": "manual", "amount": "1000", f"amount-{planning.id}": "100",
            f"amount-{implementation.id}": "800", f"amount-{evaluation.id}": "100", **versions_of(root)}
    workitem_services.update_work_item(planning, planning.version, users["oobc_staff"], allocated_budget="50")
    db.session.commit()
    html = post(editor, f"/budget/work-items/{root.id}/distribute", data).get_data(as_text=True)
    assert "<td>Planning · allocated budget</td><td>₱ 50.00</td><td>₱ 100.00</td>" in html
