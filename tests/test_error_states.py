"""UI.md's error and edge states, page by page: 403 says what the user tried and which roles may; 404 is plain;
500 apologises and gives the request id (never a traceback) — each as a page and, for htmx, as a fragment for
the page's #errors region; 409 is the "changed first" panel; validation errors sit beside their field with what
was typed kept; empty states say what to do next."""
import re

import pytest
import sqlalchemy as sa

from obcms.extensions import db
from obcms.ppas.models import Ppa
from obcms.workitems.models import WorkItem
from tests.ppas.conftest import make_ppa  # noqa: F401  (the fixture)
from tests.world import world  # noqa: F401  (the fixture)

HX = {"HX-Request": "true"}


def text(response):
    return response.get_data(as_text=True)


def main_of(html):
    """The page's <main> (its chrome around it is not what these tests look at)."""
    return html[html.index("<main"):html.index("</main>")]


# 403 -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("username, url, tried, who", [
    ("viewer", "/ppas/new", "You tried to create a PPA.", "Administrator, OOBC executive, OOBC staff, MOA staff"),
    ("viewer", "/audit", "You tried to read the audit log.", "That is for: Administrator."),
    ("moa_staff", "/admin/", "You tried to open the admin console.", "That is for: Administrator."),
])
def test_a_403_page_says_what_was_tried_and_which_roles_may(client_as, username, url, tried, who):
    response = client_as(username).get(url)
    assert response.status_code == 403
    html = main_of(text(response))
    assert tried in html and who in html
    assert "You are signed in as" in html and "permission &#39;" not in html  # role labels, not permission keys
    assert "Traceback" not in html


def test_a_403_for_htmx_is_a_fragment_for_the_errors_region(client_as):
    response = client_as("viewer").get("/ppas/new", headers=HX)
    assert response.status_code == 403
    assert response.headers["HX-Retarget"] == "#errors" and response.headers["HX-Reswap"] == "innerHTML"
    html = text(response)
    assert "<html" not in html and 'class="error-panel error-403"' in html
    assert "You tried to create a PPA." in html and "OOBC staff" in html and "data-dismiss" in html


def test_a_readers_edit_of_a_ppa_names_the_editing_roles(client_as, world):  # noqa: F811
    response = client_as("mfbm_analyst").get(f"/ppas/{world.ppa.id}/edit")
    assert response.status_code == 403
    html = main_of(text(response))
    assert "You tried to edit this PPA." in html
    assert "MOA staff only within their own organization" in html
    assert "Mfbm Analyst (MFBM analyst)" in html


def test_a_refused_transition_says_which_action_and_role(client_as, csrf_token, world):  # noqa: F811
    client = client_as("viewer")
    response = client.post(f"/workflow/work_item/{world.leaf.id}/start", data={"csrf_token": csrf_token(client)},
                           headers=HX)
    assert response.status_code == 403 and response.headers["HX-Retarget"] == "#errors"
    html = text(response)
    assert "You tried &#39;Start&#39; on " in html and "Needs the role" in html and "oobc staff" in html
    assert "You are signed in as Viewer (Viewer)." in html


def test_a_refused_approval_step_says_what_was_tried(client_as, csrf_token, world):  # noqa: F811
    client = client_as("bpda_planner")
    ppa = db.session.get(Ppa, world.ppa.id)
    response = client.post(f"/workflow/ppa/{ppa.id}/pass_technical_review",
                           data={"csrf_token": csrf_token(client), "version": ppa.version}, headers=HX)
    assert response.status_code == 403
    html = text(response)
    assert "You tried &#39;" in html and ppa.display_code in html and "Needs the role mfbm analyst" in html


# 404 -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url, says", [
    ("/nowhere", "There is nothing at this address."),
    ("/ppas/999999", "There is no PPA #999999 here."),
    ("/ppas/999999/funding", "There is no PPA #999999 here."),
    ("/work-items/999999", "There is no work item #999999 here."),
])
def test_a_404_is_plain_with_the_site_around_it(client_as, url, says):
    response = client_as("oobc_staff").get(url)
    assert response.status_code == 404
    html = text(response)
    assert 'class="topbar"' in html and "Back to the home page" in html  # the site's chrome and a way on
    page = main_of(html)
    assert "404 · Not found" in page and says in page
    assert "If you entered the URL manually" not in page and "Traceback" not in page


def test_another_organizations_ppa_is_a_404_too(client_as, world):  # noqa: F811
    response = client_as("moa_staff").get(f"/ppas/{world.other.ppa.id}")
    assert response.status_code == 404 and f"There is no PPA #{world.other.ppa.id} here." in text(response)


def test_a_404_for_htmx_is_a_fragment(client_as):
    response = client_as("oobc_staff").get("/ppas/999999/history", headers=HX)
    assert response.status_code == 404 and response.headers["HX-Retarget"] == "#errors"
    html = text(response)
    assert "<html" not in html and "There is no PPA #999999 here." in html


# 500 -------------------------------------------------------------------------------------------------------

@pytest.fixture
def broken_view(app, monkeypatch):
    """The home page's tasks block raises as a bug would; the app answers as in production (no propagation)."""
    def boom():
        raise RuntimeError("secret internals <b>SELECT * FROM users</b>")

    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    monkeypatch.setitem(app.view_functions, "home.tasks", boom)
    return "/home/tasks"


def test_a_500_page_apologises_and_gives_the_request_id(client_as, broken_view):
    response = client_as("viewer").get(broken_view, headers={"X-Request-ID": "req-42"})
    assert response.status_code == 500
    page = main_of(text(response))
    assert "Something went wrong on our side" in page and "We are sorry." in page
    assert "Request id: <code>req-42</code>" in page
    assert "Traceback" not in page and "secret internals" not in page and "RuntimeError" not in page


def test_a_500_for_htmx_is_a_fragment_with_the_request_id(client_as, broken_view):
    response = client_as("viewer").get(broken_view, headers=HX)
    assert response.status_code == 500 and response.headers["HX-Retarget"] == "#errors"
    html = text(response)
    assert "<html" not in html and "Something went wrong on our side" in html
    assert re.search(r"Request id: <code>[0-9a-f]{16}</code>", html)
    assert "secret internals" not in html and "Traceback" not in html


# 409 -------------------------------------------------------------------------------------------------------

def test_a_stale_approval_step_shows_the_conflict_panel(client_as, csrf_token, world, users):  # noqa: F811
    """The PPA moved on (a colleague edited it) after this page was read: 409 with the changed fields, theirs
    and the way back, and "Apply mine again" posting the step on the current version."""
    from obcms.ppas.services import update_ppa

    ppa = db.session.get(Ppa, world.ppa.id)
    seen = ppa.version
    update_ppa(ppa, seen, actor=users["oobc_staff"], title="Retitled by a colleague")
    db.session.commit()
    client = client_as("mfbm_analyst")
    response = client.post(f"/workflow/ppa/{ppa.id}/pass_technical_review",
                           data={"csrf_token": csrf_token(client), "version": seen}, headers=HX)
    assert response.status_code == 409
    html = text(response)
    assert "Someone changed this first" in html and "Retitled by a colleague" in html
    assert "Apply mine again" in html and "Keep theirs" in html
    resubmit = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))
    assert resubmit["version"] == str(seen + 1)


def test_a_stale_user_account_edit_shows_the_conflict_panel(client_as, csrf_token, users):
    from obcms.auth import services as auth_services

    viewer = users["viewer"]
    seen = viewer.version
    client = client_as("admin")
    token = csrf_token(client)
    auth_services.update_user(viewer, email=viewer.email, full_name="Renamed by a colleague", role="viewer",
                              organization=viewer.organization, is_active=True)
    db.session.commit()
    response = client.post(f"/admin/user/edit/?id={viewer.id}", data={
        "csrf_token": token, "version": seen, "username": "viewer", "email": "viewer@example.gov.ph",
        "full_name": "Viewer", "role": "viewer", "organization": str(viewer.organization_id), "is_active": "y"})
    assert response.status_code == 409
    html = text(response)
    assert "Someone changed this first" in html and "Renamed by a colleague" in html
    assert "Apply mine again" in html and "Keep theirs" in html


# Validation ------------------------------------------------------------------------------------------------

def test_sign_in_errors_are_inline_and_keep_the_login(client):
    html = text(client.get("/login"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post("/login", data={"csrf_token": token, "login": "someone <typed>", "password": ""})
    assert response.status_code == 422
    html = text(response)
    assert 'value="someone &lt;typed&gt;"' in html
    assert re.search(r'<input[^>]*aria-describedby="password-error"[^>]*aria-invalid="true"|'
                     r'<input[^>]*aria-invalid="true"[^>]*aria-describedby="password-error"', html)
    assert 'id="password-error"' in html
    wrong = client.post("/login", data={"csrf_token": token, "login": "viewer", "password": "not it"})
    assert wrong.status_code == 401
    html = text(wrong)
    assert 'value="viewer"' in html and "Those sign-in details are not right." in html
    assert "not it" not in html  # a password is never sent back


def test_reject_without_a_comment_says_so_beside_the_comment_box(client_as, csrf_token, world):  # noqa: F811
    ppa = db.session.get(Ppa, world.ppa.id)
    client = client_as("mfbm_analyst")
    response = client.post(f"/workflow/ppa/{ppa.id}/reject",
                           data={"csrf_token": csrf_token(client), "version": ppa.version, "comment": "  "},
                           headers=HX)
    assert response.status_code == 422
    html = text(response)
    box = html[html.index('id="comment-reject"'):]
    assert 'aria-invalid="true"' in box[:box.index(">")] and 'aria-describedby="comment-reject-error"' in box
    assert 'id="comment-reject-error"' in box and "Say why" in box[:box.index("</form>")]
    assert "data-reopen" in html  # the dialog opens again on its error


# Empty states ----------------------------------------------------------------------------------------------

def _no_ppas():
    db.session.execute(sa.delete(Ppa))
    db.session.commit()


@pytest.mark.parametrize("username, url, says, action", [
    ("oobc_staff", "/home/tasks", "Nothing of yours is due", "/tasks"),
    ("oobc_staff", "/home/approvals", "No PPAs are waiting for your action", "/ppas"),
    ("oobc_staff", "/home/alerts", "No alerts.", "/notifications"),
    ("oobc_staff", "/home/portfolio", "No PPAs yet.", "/ppas/new"),
    ("mfbm_analyst", "/home/portfolio", "No PPAs you may see yet.", "/ppas"),
    ("oobc_staff", "/notifications", "No notifications yet.", "/"),
    ("oobc_staff", "/notifications?unread=1", "No unread notifications", "/notifications"),
    ("oobc_staff", "/ppas", "No PPAs yet.", "/ppas/new"),
    ("oobc_staff", "/ppas?sector=economic", "No PPAs match these filters.", "/ppas"),
    ("oobc_staff", "/ppas/dashboard", "No PPAs yet.", "/ppas/new"),
    ("oobc_staff", "/ppas/dashboard?sector=economic", "No PPAs match these filters", "/ppas/dashboard"),
    ("admin", "/audit?user=nobody", "No audit entries match these filters.", "/audit"),
    ("viewer", "/work-items/", "No work items you may see yet.", "/ppas"),
    ("oobc_staff", "/work-items/", "No work items yet", "#new-project-title"),
])
def test_empty_states_say_what_to_do_next(client_as, username, url, says, action):
    _no_ppas()
    db.session.execute(sa.delete(WorkItem))
    db.session.commit()
    response = client_as(username).get(url, headers=HX)
    assert response.status_code == 200
    html = text(response)
    assert 'class="empty-state"' in html, html
    state = html[html.index('class="empty-state"'):]
    state = state[:state.index("</div>")]
    assert says in state and f'href="{action}"' in state


def test_a_ppa_without_work_items_says_to_enable_tracking(client_as, make_ppa):  # noqa: F811
    ppa = make_ppa()
    editor = text(client_as("oobc_staff").get(f"/ppas/{ppa.id}/work-items", headers=HX))
    assert "No work items yet — enable tracking below to generate them" in editor and "empty-state" in editor
    reader = text(client_as("mfbm_analyst").get(f"/ppas/{ppa.id}/work-items", headers=HX))
    assert "No work items yet — this PPA&#39;s editors can enable WorkItem tracking" in reader


def test_the_overview_of_a_bare_ppa_offers_to_fill_it_in(client_as, make_ppa):  # noqa: F811
    ppa = make_ppa()
    html = text(client_as("oobc_staff").get(f"/ppas/{ppa.id}", headers=HX))
    edit = f'href="/ppas/{ppa.id}/edit"'
    for says, action in (("No summary yet.", "Write the summary"), ("No outcomes yet.", "Add outcomes"),
                         ("No milestones yet.", "Add milestones")):
        state = html[html.index(says):]
        assert state.index(edit) < state.index("</div>") and action in state[:state.index("</div>")]
    reader = text(client_as("mfbm_analyst").get(f"/ppas/{ppa.id}", headers=HX))
    assert "No summary yet." in reader and edit not in reader  # no button for what the reader may not do


def test_empty_funding_and_history_tabs(client_as, make_ppa):  # noqa: F811
    ppa = make_ppa()
    funding = text(client_as("oobc_staff").get(f"/ppas/{ppa.id}/funding", headers=HX))
    assert "No money movements recorded yet. Record the first allocation below." in funding
    history = text(client_as("oobc_staff").get(f"/ppas/{ppa.id}/approval", headers=HX))
    assert "No status changes yet. Each step taken with the actions above is listed here" in history


def test_a_project_with_nothing_under_it_offers_the_first_item(client_as, csrf_token, organizations):
    client = client_as("oobc_staff")
    response = client.post("/work-items/", data={
        "csrf_token": csrf_token(client), "project-title": "Lonely project",
        "project-organization_id": organizations["MSSD"].id, "project-priority": "medium"})
    assert response.status_code == 303
    root = db.session.scalar(sa.select(WorkItem).where(WorkItem.title == "Lonely project"))
    html = text(client.get(f"/work-items/{root.id}"))
    assert "Nothing under “Lonely project” yet" in html and f'href="/work-items/{root.id}/new"' in html
    reader = text(client_as("viewer").get(f"/work-items/{root.id}"))
    assert "its editors add the items" in reader and f'href="/work-items/{root.id}/new"' not in reader
