"""Notifications: notify() in the caller's transaction, the badge, the list, mark read (own only)."""
import sqlalchemy as sa

from obcms.extensions import db
from obcms.notifications import notify
from obcms.notifications.models import Notification
from obcms.notifications.services import mark_all_read, mark_read, recent, unread_count


def test_notify_adds_one_row_per_distinct_user_in_one_statement(users, count_queries):
    ids = [users["moa_staff"].id, users["moa_staff"].id, users["viewer"].id, None]
    with count_queries() as q:
        assert notify(ids, "approval", "PPA-1 was approved", url="/ppas/1/approval") == 2
    assert q.count == 2  # who of them wants e-mail now (nobody: obcms/notifications/mail.py), the one INSERT
    rows = db.session.scalars(sa.select(Notification).order_by(Notification.user_id)).all()
    assert [(n.user_id, n.kind, n.url, n.read_at) for n in rows] == [
        (users["moa_staff"].id, "approval", "/ppas/1/approval", None), (users["viewer"].id, "approval", "/ppas/1/approval", None)]
    assert notify([], "approval", "nobody") == 0


def test_a_rolled_back_transaction_leaves_no_notification(users):
    with db.session.begin_nested():
        notify([users["viewer"].id], "approval", "never sent")
        db.session.rollback()
    assert unread_count(users["viewer"]) == 0


def test_unread_count_recent_and_marking_read(users):
    me, other = users["moa_staff"], users["viewer"]
    notify([me.id], "approval", "first")
    notify([me.id], "approval", "second")
    notify([other.id], "approval", "not mine")
    assert unread_count(me) == 2
    first = next(n for n in recent(me) if n.message == "first")
    theirs = db.session.scalar(sa.select(Notification.id).where(Notification.user_id == other.id))
    assert mark_read(me, [first.id, theirs]) == 1
    db.session.expire_all()
    assert unread_count(me) == 1 and unread_count(other) == 1
    assert [n.message for n in recent(me)] == ["second", "first"]  # unread first
    assert [n.message for n in recent(me, unread_only=True)] == ["second"]
    assert mark_all_read(me) == 1
    assert unread_count(me) == 0 and unread_count(other) == 1


def test_long_messages_are_cut_to_the_column(users):
    notify([users["viewer"].id], "approval", "x" * 1500)
    assert len(recent(users["viewer"])[0].message) == 1000


def test_badge_shows_the_unread_count_in_one_query(client_as, users, count_queries):
    client = client_as("moa_staff")
    assert 'class="badge"' not in client.get("/notifications/badge").get_data(as_text=True)
    notify([users["moa_staff"].id], "approval", "hello")
    with count_queries() as q:
        html = client.get("/notifications/badge", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert '<span class="badge">1</span>' in html
    assert q.count <= 3  # the user, the count (and nothing per notification)


def test_every_page_loads_the_badge_lazily(client_as):
    html = client_as("viewer").get("/").get_data(as_text=True)
    assert 'hx-get="/notifications/badge"' in html


def test_list_page_and_fragment_show_only_my_notifications(client_as, users, count_queries):
    notify([users["moa_staff"].id], "approval", "mine <b>bold</b>")
    notify([users["viewer"].id], "approval", "someone else's")
    client = client_as("moa_staff")
    page = client.get("/notifications").get_data(as_text=True)
    assert "mine &lt;b&gt;bold&lt;/b&gt;" in page and "someone else" not in page
    for n in range(5):
        notify([users["moa_staff"].id], "approval", f"more {n}")
    with count_queries() as q:
        fragment = client.get("/notifications", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'id="notification-list"' in fragment and "<html" not in fragment
    assert q.count <= 3


def test_mark_read_and_mark_all_read_through_htmx(client_as, users, csrf_token):
    me = users["moa_staff"]
    notify([me.id], "approval", "one")
    notify([me.id], "approval", "two")
    client = client_as("moa_staff")
    token = csrf_token(client)
    one = db.session.scalar(sa.select(Notification.id).where(Notification.message == "one"))
    response = client.post(f"/notifications/{one}/read", headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "obcms:notifications"
    db.session.expire_all()
    assert unread_count(me) == 1
    response = client.post("/notifications/read-all", headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 200
    db.session.expire_all()
    assert unread_count(me) == 0


def test_open_marks_read_and_goes_to_the_local_url_only(client_as, users, csrf_token):
    me = users["viewer"]
    notify([me.id], "approval", "local", url="/ppas")
    notify([me.id], "approval", "remote", url="//evil.example/x")
    client = client_as("viewer")
    token = csrf_token(client)
    ids = dict(db.session.execute(sa.select(Notification.message, Notification.id)).all())
    response = client.post(f"/notifications/{ids['local']}/read", data={"open": "1", "csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/ppas"
    response = client.post(f"/notifications/{ids['remote']}/read", data={"open": "1", "csrf_token": token})
    assert response.status_code == 303 and "evil" not in response.headers["Location"]


def test_someone_elses_notification_is_not_found(client_as, users, csrf_token):
    notify([users["viewer"].id], "approval", "not yours")
    theirs = db.session.scalar(sa.select(Notification.id))
    client = client_as("moa_staff")
    response = client.post(f"/notifications/{theirs}/read", headers={"X-CSRFToken": csrf_token(client)})
    assert response.status_code == 404
    db.session.expire_all()
    assert unread_count(users["viewer"]) == 1
