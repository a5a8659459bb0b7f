"""Task templates in the admin console: items edited inline, reordered by their position numbers (saving
renumbers them 1…n), bad values refused on the form."""
import pytest
import sqlalchemy as sa

from obcms.extensions import db
from obcms.tasking.models import TaskTemplate


@pytest.fixture
def admin(client_as, csrf_token):
    client = client_as("admin")
    token = csrf_token(client)
    client.post_form = lambda url, data: client.post(url, data={**data, "csrf_token": token})
    return client


def item(n, position, title, hours="2", role="lead", days="0", item_id=""):
    prefix = f"items-{n}-"
    return {prefix + "id": item_id, prefix + "position": str(position), prefix + "title": title,
            prefix + "description": "", prefix + "priority": "medium", prefix + "estimated_hours": hours,
            prefix + "role": role, prefix + "due_offset_days": days}


def template(name):
    db.session.expire_all()
    return db.session.scalar(sa.select(TaskTemplate).where(TaskTemplate.name == name))


def test_create_with_items_then_reorder_them(admin):
    assert admin.get("/admin/task-templates/new/").status_code == 200
    response = admin.post_form("/admin/task-templates/new/", {
        "name": "policy_review", "domain": "policy", "description": "Review a policy.", "active": "y",
        **item(0, 1, "Read {title}"), **item(1, 2, "Write the memo", days="5"), **item(2, 3, "Sign", role="approver")})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    made = template("policy_review")
    assert [(i.position, i.title) for i in made.items] == [(1, "Read {title}"), (2, "Write the memo"), (3, "Sign")]
    first, second, third = made.items
    # "Sign" first, then "Read", then "Write": positions typed 2, 3, 1
    response = admin.post_form(f"/admin/task-templates/edit/?id={made.id}", {
        "name": "policy_review", "domain": "policy", "description": "Review a policy.", "active": "y",
        **item(0, 2, first.title, item_id=first.id), **item(1, 3, second.title, days="5", item_id=second.id),
        **item(2, 1, third.title, role="approver", item_id=third.id)})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert [(i.position, i.title) for i in template("policy_review").items] == [
        (1, "Sign"), (2, "Read {title}"), (3, "Write the memo")]


def test_negative_hours_or_offsets_are_refused_on_the_form(admin):
    response = admin.post_form("/admin/task-templates/new/", {
        "name": "bad_one", "domain": "general", "description": "", "active": "y",
        **item(0, 1, "x", hours="-1", days="-3")})
    assert response.status_code == 200 and template("bad_one") is None
    assert "Number must be between 0 and" in response.get_data(as_text=True)


def test_a_second_template_of_the_same_name_is_refused(admin):
    data = {"name": "twice", "domain": "general", "description": "", "active": "y", **item(0, 1, "x")}
    assert admin.post_form("/admin/task-templates/new/", data).status_code == 302
    response = admin.post_form("/admin/task-templates/new/", data)
    assert response.status_code == 200 and "exists already" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(TaskTemplate.id)).where(TaskTemplate.name == "twice")) == 1
