"""Organization scoping and read-only roles, walked over every route that takes an id: MOA-scoped users get 404
for another MOA's objects (PPA, work item, distribution, job run, workflow panel and transitions, history
fragment, API) and for another user's notification, and change nothing; viewers get 403 on every write and
every form that leads to one; only admins reach the admin console. Generic: routes added later are walked too."""
import pytest

from obcms.extensions import db
from obcms.notifications.models import Notification
from tests import world as world_module
from tests.test_robustness import SKIPPED, urls
from tests.world import row_counts

world = world_module.world  # the fixture

# (user, whose objects): MSSD's moa_staff and viewer against MOH's; MOH's moa_staff against MSSD's.
OUT_OF_SCOPE = [("moa_staff", "other"), ("viewer", "other"), ("other_moa_staff", "mine")]
# GET routes that show a form or dialog for a change: viewers may not open them either.
WRITE_FORMS = {"ppas.create", "ppas.edit", "ppa_tracking.preview", "workitems.new_child", "workitems.edit",
               "workitems.move", "workitems.move_targets", "workitems.move_positions", "workitems.confirm_delete",
               "budget.distribute", "budget.confirm_restore", "tasks.reassign_form", "reports.new_policy",
               "reports.edit_policy"}
# The policy register belongs to no organization (every organization reads it; its keepers edit it): another
# organization's policy is not out of anybody's scope, so these answer by permission (403), not 404.
GLOBAL_REGISTER = {"reports.edit_policy"}
# Everyone marks their own notifications, signs their own browsers out, subscribes to the calendar (their own
# subscriptions, which only they revoke) and snoozes their own task reminders.
OWN_ONLY = {"tasks.snooze", "notifications.read", "notifications.read_all", "auth.end_sign_in", "auth.sign_out_others",
            "auth.sign_out_everywhere", "calendar.create_feed", "calendar.revoke_feed", "auth.notification_channel",
            "auth.create_api_token", "auth.revoke_api_token", "api.notification_read", "api.notification_read_all"}


def portfolio_ids(world, whose):
    """Route ids of one organization's objects, with a notification of somebody else (oobc_staff)."""
    ids = world.ids() if whose == "mine" else world.other.ids()
    ids["notification_id"] = world.notifications["oobc_staff"].id
    return ids


@pytest.mark.parametrize(("username", "whose"), OUT_OF_SCOPE)
def test_another_organizations_objects_are_not_found(app, client_as, csrf_token, users, world, username, whose):
    client = client_as(username)
    token = csrf_token(client)
    ids = portfolio_ids(world, whose)
    problems = []
    for method in ("GET", "POST"):
        for endpoint, url, args in urls(app, method, world, users, ids=ids):
            if endpoint in GLOBAL_REGISTER:
                continue
            before = row_counts()
            for headers in ({}, {"HX-Request": "true"}):
                response = client.open(url, method=method, query_string=args, headers=headers,
                                       data={"csrf_token": token, "version": "1", "comment": "x", "confirm": "1"}
                                       if method == "POST" else None)
                if response.status_code != 404:
                    problems.append(f"{method} {url} ({endpoint}) → {response.status_code}, not 404")
                elif url.startswith("/api/") and response.mimetype != "application/problem+json":
                    problems.append(f"{method} {url} ({endpoint}) → 404 but not a JSON problem")
            db.session.expire_all()
            if row_counts() != before:
                problems.append(f"{method} {url} ({endpoint}) wrote rows")
    assert not problems, f"as {username} on {whose} objects:\n" + "\n".join(problems)
    notification = db.session.get(Notification, ids["notification_id"])
    assert notification.read_at is None


def test_nobody_marks_another_users_notification(client_as, csrf_token, users, world):
    for username in ("admin", "oobc_executive", "moa_staff", "viewer"):
        client = client_as(username)
        target = world.notifications["other_moa_staff"]
        response = client.post(f"/notifications/{target.id}/read", data={"csrf_token": csrf_token(client)})
        assert response.status_code == 404, username
    db.session.expire_all()
    assert db.session.get(Notification, world.notifications["other_moa_staff"].id).read_at is None


def test_viewers_may_change_nothing(app, client_as, csrf_token, users, world):
    client = client_as("viewer")
    token = csrf_token(client)
    problems = []
    for method in ("GET", "POST"):
        for endpoint, url, args in urls(app, method, world, users):
            if endpoint.startswith(("admin.", "user.", "organization.", "jobrun.")) or endpoint in OWN_ONLY:
                continue
            if method == "GET" and endpoint not in WRITE_FORMS:
                continue
            before = row_counts()
            response = client.open(url, method=method, query_string=args,
                                   data={"csrf_token": token, "version": "1", "comment": "x", "confirm": "1",
                                         "title": "Viewer was here"} if method == "POST" else None)
            unknown = "no_such" in url or (endpoint == "workflow.fire_transition" and "/work_item/" in url) or \
                endpoint in ("tasks.act", "api.work_item_fire", "api.booking_fire")
            # (an unknown object type or transition is simply not found; work items, tasks and bookings have no
            # 'submit')
            if response.status_code != (404 if unknown else 403):
                problems.append(f"{method} {url} ({endpoint}) → {response.status_code}")
            db.session.expire_all()
            if row_counts() != before:
                problems.append(f"{method} {url} ({endpoint}) wrote rows")
    assert not problems, "as viewer:\n" + "\n".join(problems)


@pytest.mark.parametrize("username", ["oobc_executive", "oobc_staff", "moa_staff", "mfbm_analyst", "bpda_planner",
                                      "viewer"])
def test_only_admins_reach_the_admin_console(app, client_as, csrf_token, users, username):
    client = client_as(username)
    token = csrf_token(client)
    problems = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.endpoint in SKIPPED:
            continue
        url = rule.build({"export_type": "csv"}, append_unknown=False)[1]
        for method in ("GET", "POST"):
            if method in rule.methods:
                response = client.open(url, method=method, data={"csrf_token": token})
                if response.status_code != 403:
                    problems.append(f"{method} {url} → {response.status_code}")
    assert not problems, "\n".join(problems)


# Search, with typos (the query itself is shown back): what each MOA may not see stays unfound.
SEARCHES = ["/search?q=rurall+helth+unitz", "/search?q=livelyhood+kitz", "/search?q=weekly+reveiw"]


@pytest.mark.parametrize(("username", "hidden"), [("moa_staff", "Rural health units"), ("viewer", "Rural health units"),
                                                  ("other_moa_staff", "Livelihood kits")])
def test_the_live_search_shows_nothing_of_another_moa(client_as, world, username, hidden):
    client = client_as(username)
    for url in SEARCHES:
        response = client.get(url.replace("/search", "/search/live"), headers={"HX-Request": "true"})
        assert response.status_code == 200, url
        assert hidden not in response.get_data(as_text=True), url


@pytest.mark.parametrize(("username", "hidden"), [("moa_staff", "Rural health units"),
                                                  ("viewer", "Rural health units"),
                                                  ("other_moa_staff", "Livelihood kits")])
def test_lists_and_pickers_show_nothing_of_another_moa(client_as, world, username, hidden):
    client = client_as(username)
    own = world.leaf if username != "other_moa_staff" else world.other.leaf
    urls_ = ["/ppas", "/ppas?q=u", "/ppas/dashboard", "/work-items/", "/home/approvals", "/home/tasks",
             *SEARCHES]
    if username != "viewer":
        urls_ += [f"/work-items/{own.id}/move-targets?m{own.id}-q=", f"/work-items/{own.id}/move-targets?m{own.id}-q=r"]
    for url in urls_:
        response = client.get(url)
        assert response.status_code == 200, url
        assert hidden not in response.get_data(as_text=True), url
