"""Two people on one tree at once, through the HTTP interface: an edit conflict keeps the colleague's change,
a page about an item that went is a 404 (never a 500), a colleague's insert elsewhere is no conflict, and a
status change shows the same everywhere at once."""
import html as html_lib
import re

import pytest

from obcms.extensions import db
from obcms.workitems import outline, services, tree

from . import test_views
from .test_views import HX, edit_data, item, post

staff, road = test_views.staff, test_views.road  # the fixtures: MSSD's staff and their road project


def panel_fields(html):
    """The hidden inputs of the 409 panel's "Apply mine again" form, as a list of (name, value)."""
    panel = re.search(r'<section class="error-panel conflict-panel".*?</section>', html, re.S).group(0)
    return [(name, html_lib.unescape(value)) for name, value in
            re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', panel) if name != "csrf_token"]


def field_value(html, name):
    match = re.search(rf'name="{re.escape(name)}"[^>]*value="([^"]*)"', html) or \
        re.search(rf'value="([^"]*)"[^>]*name="{re.escape(name)}"', html)
    return html_lib.unescape(match.group(1)) if match else None


def selected_option(html, name):
    select = re.search(rf'<select[^>]*name="{re.escape(name)}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', select).group(1)


# ------------------------------------------------------------------------------------------------- 1. edit conflict
def test_an_edit_conflict_keeps_the_colleagues_change(client_as, csrf_token, road):
    a, b = client_as("moa_staff"), client_as("oobc_staff")
    leaf = item("A1.2")
    seen_by_a = edit_data(a, leaf, title="Survey of the site")
    seen_by_b = edit_data(b, leaf, priority="high")
    assert post(a, csrf_token(a), f"/work-items/{leaf.id}/edit", seen_by_a).status_code == 200

    response = post(b, csrf_token(b), f"/work-items/{leaf.id}/edit", seen_by_b, **{"HX-Target": f"wi-{leaf.id}"})
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "you left it alone: theirs is kept" in html and "Moa Staff" in html
    # the form that comes back: the current version, A's title (B left it alone), B's priority
    current = str(item("Survey of the site").version)
    assert field_value(html, f"e{leaf.id}-version") == current
    assert field_value(html, f"e{leaf.id}-title") == "Survey of the site"
    assert selected_option(html, f"e{leaf.id}-priority") == "high"
    # "Apply mine again" posts the same: the prefixed version, A's title, B's priority
    again = panel_fields(html)
    assert (f"e{leaf.id}-version", current) in again and ("version", current) not in again
    assert (f"e{leaf.id}-title", "Survey of the site") in again and (f"e{leaf.id}-priority", "high") in again

    data = {}
    for name, value in again:
        data.setdefault(name, []).append(value)
    response = b.post(f"/work-items/{leaf.id}/edit", data={"csrf_token": csrf_token(b), **data}, headers=HX)
    assert response.status_code == 200, response.get_data(as_text=True)
    saved = item("Survey of the site")
    assert (saved.title, saved.priority) == ("Survey of the site", "high")  # nobody's change was lost


def test_saving_the_form_that_came_back_with_the_409_keeps_both_changes(client_as, csrf_token, road):
    a, b = client_as("moa_staff"), client_as("oobc_staff")
    leaf = item("A2.1")
    seen_by_b = edit_data(b, leaf, progress="40")
    post(a, csrf_token(a), f"/work-items/{leaf.id}/edit", edit_data(a, leaf, title="Renamed by A"))
    html = post(b, csrf_token(b), f"/work-items/{leaf.id}/edit", seen_by_b).get_data(as_text=True)
    resubmit = {f"e{leaf.id}-{name}": field_value(html, f"e{leaf.id}-{name}")
                for name in ("version", "title", "progress", "allocated_budget")}
    resubmit[f"e{leaf.id}-priority"] = selected_option(html, f"e{leaf.id}-priority")
    assert post(b, csrf_token(b), f"/work-items/{leaf.id}/edit", resubmit).status_code == 200
    saved = item("Renamed by A")
    assert saved is not None and saved.progress == 40


def test_a_form_without_its_version_says_so(client_as, csrf_token, road):
    client = client_as("moa_staff")
    leaf = item("A1.1")
    data = edit_data(client, leaf, title="No version")
    data[f"e{leaf.id}-version"] = "2147483648"  # beyond the column: as good as missing
    response = post(client, csrf_token(client), f"/work-items/{leaf.id}/edit", data)
    assert response.status_code == 422
    assert "did not say which version" in response.get_data(as_text=True)
    assert item("No version") is None


def test_apply_mine_again_on_a_stale_move_sends_the_move_forms_version(client_as, csrf_token, road, staff):
    client = client_as("moa_staff")
    a1 = item("A1")
    html = client.get(f"/work-items/{a1.id}/move", headers=HX).get_data(as_text=True)
    version = field_value(html, f"m{a1.id}-version")
    services.update_work_item(a1, a1.version, staff, title="A1 renamed")
    db.session.flush()
    response = post(client, csrf_token(client), f"/work-items/{a1.id}/move",
                    {f"m{a1.id}-version": version, f"m{a1.id}-parent": "root"})
    assert response.status_code == 409
    again = dict(panel_fields(response.get_data(as_text=True)))
    assert again[f"m{a1.id}-version"] == str(item("A1 renamed").version) and "version" not in again
    response = post(client, csrf_token(client), f"/work-items/{a1.id}/move", again)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert item("A1 renamed").parent_id is None


# ------------------------------------------------------------------------------------------------- 2. gone mid-request
@pytest.mark.parametrize("path,headers", [("", {}), ("", {"HX-Target": "wi-panel", **HX}), ("/move", HX)])
def test_a_page_about_an_item_deleted_meanwhile_is_a_404_naming_who(client_as, road, staff, monkeypatch, path,
                                                                      headers):
    """The colleague's delete lands between the page's first read (the item) and its next ones."""
    reader = client_as("oobc_staff")
    leaf = item("A1.1")

    def colleague_deletes_first(read):
        def wrapped(*args, **kwargs):
            gone = item("A1.1")
            if gone is not None:
                services.delete_work_item(gone, staff, gone.version)
                db.session.flush()
            return read(*args, **kwargs)
        return wrapped

    monkeypatch.setattr(outline, "rows_by_id", colleague_deletes_first(outline.rows_by_id))
    monkeypatch.setattr(tree, "subtree_rows", colleague_deletes_first(tree.subtree_rows))
    response = reader.get(f"/work-items/{leaf.id}{path}", headers=headers)
    assert response.status_code == 404, response.get_data(as_text=True)[:500]
    # (the stand-in colleague's delete ran inside the reader's request, so the trail names the reader)
    assert re.search(r"was deleted by [^<]+, just now", response.get_data(as_text=True))


def test_a_deleted_item_is_a_404_that_says_who_deleted_it(client_as, csrf_token, road):
    a, b = client_as("moa_staff"), client_as("oobc_staff")
    a1 = item("A1")
    html = a.get(f"/work-items/{a1.id}/delete", headers=HX).get_data(as_text=True)
    post(a, csrf_token(a), f"/work-items/{a1.id}/delete", {"version": field_value(html, "version")})
    for path in ("", "/edit", "/move", "/delete", "/row", "/children"):
        response = b.get(f"/work-items/{a1.id}{path}", headers=HX)
        assert response.status_code == 404 and "deleted by Moa Staff" in response.get_data(as_text=True)
    other = client_as("other_moa_staff").get(f"/work-items/{a1.id}")  # not theirs to know about
    assert other.status_code == 404 and "deleted by" not in other.get_data(as_text=True)


# ------------------------------------------------------------------------------------------------- 3. renumbering
@pytest.mark.parametrize("action", ["delete", "move"])
def test_a_colleagues_insert_elsewhere_is_no_conflict(client_as, csrf_token, road, action):
    a, b = client_as("moa_staff"), client_as("oobc_staff")
    a2, a1 = item("A2"), item("A1")
    if action == "delete":
        html = b.get(f"/work-items/{a2.id}/delete", headers=HX).get_data(as_text=True)
        data = {"version": field_value(html, "version")}
    else:
        html = b.get(f"/work-items/{a2.id}/move", headers=HX).get_data(as_text=True)
        data = {f"m{a2.id}-version": field_value(html, f"m{a2.id}-version"), f"m{a2.id}-parent": "root"}
    added = post(a, csrf_token(a), f"/work-items/{a1.id}/children",
                 {f"n{a1.id}-title": "Late task", f"n{a1.id}-work_type": "task", f"n{a1.id}-priority": "medium"})
    assert added.status_code == 200, added.get_data(as_text=True)  # renumbers A2, which lies to the right
    response = post(b, csrf_token(b), f"/work-items/{a2.id}/{action}", data)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert tree.check_integrity() == []


def test_every_409_names_a_changed_field(client_as, csrf_token, road, staff):
    client = client_as("oobc_staff")
    a1, a2 = item("A1"), item("A2")
    html = client.get(f"/work-items/{a2.id}/delete", headers=HX).get_data(as_text=True)
    services.move_work_item(a2, staff, a2.version, parent=road, before=a1)  # reordered: its position changed
    db.session.flush()
    response = post(client, csrf_token(client), f"/work-items/{a2.id}/delete", {"version": field_value(html, "version")})
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert re.search(r'<th scope="row">position</th>\s*<td>1</td>', body), body


# ------------------------------------------------------------------------------------------------- 4. one truth
def test_completing_a_leaf_shows_the_same_everywhere_at_once(client_as, csrf_token, road):
    client = client_as("moa_staff")
    leaf, a1 = item("A1.1"), item("A1")
    response = post(client, csrf_token(client), f"/work-items/{leaf.id}/edit",
                    edit_data(client, leaf, transition="complete"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    done, parent = item("A1.1"), item("A1")
    assert (done.status, done.progress) == ("completed", 100)
    assert (parent.status, parent.progress) == ("in_progress", 50)  # never "not started" at 50 %
    row = re.search(rf'<tr id="wi-{leaf.id}" class="wi-row".*?</tr>', html, re.S).group(0)
    assert "100 %" in row or "100%" in row
    assert re.search(rf'id="wi-{a1.id}-status"[^>]*hx-swap-oob="true"[^>]*>.*?in progress', html, re.S)
    panel = client.get(f"/work-items/{leaf.id}", headers={**HX, "HX-Target": "wi-panel"}).get_data(as_text=True)
    assert "100" in re.search(r"<dt>Progress</dt><dd>(.*?)</dd>", panel, re.S).group(1)
    # a leaf has nothing to allocate: "—" in the tree, as on the Budget tab
    assert re.search(rf'id="wi-{leaf.id}-unallocated"[^>]*>—<', html)
    assert "<dt>Unallocated</dt><dd class=\"num\">—</dd>" in panel
