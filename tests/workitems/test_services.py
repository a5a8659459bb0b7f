"""Work-item services: type and depth rules, permissions, optimistic locking, delete, bulk build."""
from decimal import Decimal

import pytest
import sqlalchemy as sa

from obcms.errors import Conflict, NotAllowed, ValidationFailed
from obcms.extensions import db
from obcms.workitems import services, tree
from obcms.workitems.models import WorkItem
from obcms.workitems.services import ALLOWED_CHILDREN, MAX_LEVELS, check_placement


def make(parent, actor, work_type, title=None, **fields):
    return services.create_work_item(parent, actor, title=title or work_type, work_type=work_type, **fields)


@pytest.fixture
def staff(users):
    return users["oobc_staff"]


@pytest.mark.parametrize("parent_type", list(ALLOWED_CHILDREN))
@pytest.mark.parametrize("child_type", list(ALLOWED_CHILDREN))
def test_allowed_children_table(parent_type, child_type):
    if child_type in ALLOWED_CHILDREN[parent_type]:
        check_placement(child_type, parent_type, 0)
    else:
        with pytest.raises(ValidationFailed, match="cannot be placed under"):
            check_placement(child_type, parent_type, 0)


def test_a_tree_has_at_most_six_levels(staff):
    node = make(None, staff, "project")  # level 1 (depth 0)
    for _ in range(MAX_LEVELS - 1):  # levels 2 … 6
        node = make(node, staff, "subtask")
    assert node.depth == 5
    with pytest.raises(ValidationFailed, match="7 levels deep"):
        make(node, staff, "subtask")


def test_moving_a_subtree_keeps_the_depth_limit(staff):
    p = make(None, staff, "project")
    deep = p
    for _ in range(4):
        deep = make(deep, staff, "subtask")  # depth 4 = level 5
    q = make(None, staff, "project")
    chain = make(q, staff, "subtask")
    make(chain, staff, "subtask")
    with pytest.raises(ValidationFailed, match="7 levels deep"):
        services.move_work_item(chain, staff, chain.version, parent=deep)  # depth 5 + a child at 6 = 7 levels
    services.move_work_item(chain, staff, chain.version, parent=deep.parent)  # 6 levels: fine
    assert tree.check_integrity() == []


def test_type_rule_on_create_and_move(staff):
    p = make(None, staff, "project")
    t = make(p, staff, "task")
    with pytest.raises(ValidationFailed, match="An activity|A activity|cannot be placed"):
        make(t, staff, "activity")
    a = make(p, staff, "activity")
    with pytest.raises(ValidationFailed, match="cannot be placed"):
        services.move_work_item(a, staff, a.version, parent=t)


def test_activity_category_only_on_activities(staff):
    p = make(None, staff, "project")
    with pytest.raises(ValidationFailed):
        make(p, staff, "task", activity_category="office")
    assert make(p, staff, "activity", activity_category="office").activity_category == "office"


def test_due_date_not_before_start(staff):
    from datetime import date

    with pytest.raises(ValidationFailed):
        make(None, staff, "project", start_date=date(2025, 5, 2), due_date=date(2025, 5, 1))


def test_moa_staff_work_only_in_their_organization(users, organizations):
    moa, other = users["moa_staff"], users["other_moa_staff"]
    root = make(None, moa, "project", organization_id=organizations["MSSD"].id)
    child = make(root, moa, "activity")
    assert child.organization_id == organizations["MSSD"].id
    with pytest.raises(NotAllowed):
        make(root, other, "activity")
    with pytest.raises(NotAllowed):
        make(None, moa, "project", organization_id=organizations["MOH"].id)
    with pytest.raises(NotAllowed):
        services.update_work_item(child, child.version, users["viewer"], title="x")
    with pytest.raises(NotAllowed):
        services.delete_work_item(child, other, child.version)


def test_stale_version_is_a_conflict_naming_the_changed_fields(staff):
    p = make(None, staff, "project")
    seen = p.version
    services.update_work_item(p, seen, staff, title="Renamed")
    with pytest.raises(Conflict) as error:
        services.update_work_item(p, seen, staff, title="Mine")
    assert "title" in error.value.changed_fields
    assert error.value.current_version == seen + 1


def test_tree_shifts_leave_the_version_alone(staff):
    p = make(None, staff, "project")
    a = make(p, staff, "activity")
    b = make(p, staff, "activity")
    seen = db.session.get(WorkItem, b.id).version
    make(a, staff, "task")  # shifts B (it lies to the right): nothing of B a person sees changed
    b = db.session.get(WorkItem, b.id)
    assert b.version == seen
    services.move_work_item(b, staff, seen, parent=p, before=a)  # so a move or delete on it is no conflict
    services.update_work_item(b, b.version, staff, title="Renamed")
    seen = b.version - 1
    assert b.title == "Renamed"
    with pytest.raises(Conflict):  # but a real change in between is one
        services.update_work_item(b, seen, staff, title="Mine")


def test_status_is_not_edited_here(staff):
    p = make(None, staff, "project")
    with pytest.raises(ValidationFailed):
        services.update_work_item(p, p.version, staff, status="completed")


def test_container_progress_is_derived_and_expenditure_never_entered(staff):
    p = make(None, staff, "project")
    make(p, staff, "task")
    with pytest.raises(ValidationFailed, match="calculated from the children"):
        services.update_work_item(p, p.version, staff, progress=50)
    with pytest.raises(ValidationFailed, match="disbursements"):
        services.update_work_item(p, p.version, staff, actual_expenditure="5.00")
    services.update_work_item(p, p.version, staff, auto_calculate_progress=False)
    services.update_work_item(p, p.version, staff, progress=50)
    assert p.progress == 50


def test_delete_returns_the_subtree_size_and_rolls_up(staff):
    p = make(None, staff, "project")
    a = make(p, staff, "activity")
    make(a, staff, "task")
    done = make(p, staff, "activity")
    services.update_work_item(done, done.version, staff, progress=100)
    assert tree.subtree_size(a) == 2
    assert services.delete_work_item(a, staff, a.version) == 2
    db.session.expire_all()
    assert db.session.get(WorkItem, p.id).progress == 100
    assert tree.check_integrity() == []


def test_assign_users(staff, users):
    p = make(None, staff, "project")
    services.assign_users(p, staff, [users["moa_staff"].id, users["viewer"].id])
    assert {u.username for u in p.assignees} == {"moa_staff", "viewer"}
    with pytest.raises(ValidationFailed):
        services.assign_users(p, staff, [999999])


def test_build_tree_checks_rules_and_rolls_up(staff, organizations):
    structure = [{"title": "P", "work_type": "project", "allocated_budget": Decimal("100.00"), "children": [
        {"title": "A", "work_type": "activity", "allocated_budget": Decimal("60.00"), "children": [
            {"title": "T", "work_type": "task", "allocated_budget": Decimal("60.00"), "progress": 50}]},
        {"title": "B", "work_type": "activity", "allocated_budget": Decimal("40.00"), "progress": 100,
         "status": "completed"}]}]
    ids = services.build_tree(structure, staff, organization_id=organizations["MSSD"].id, ppa_id=None)
    db.session.expire_all()
    root = db.session.get(WorkItem, ids[0])
    assert root.progress == 70  # (50×60 + 100×40) / 100
    assert {n.organization_id for n in tree.descendants(root)} == {organizations["MSSD"].id}
    more = services.build_tree([{"title": "T2", "work_type": "task"}], staff, parent=db.session.get(WorkItem, ids[1]))
    assert len(more) == 1 and tree.check_integrity() == []
    bad = [{"title": "X", "work_type": "task", "children": [{"title": "Y", "work_type": "activity"}]}]
    with pytest.raises(ValidationFailed):
        services.build_tree(bad, staff)
    over = [{"title": "X", "work_type": "project", "children": [{"title": "Y", "work_type": "task",
                                                                  "allocated_budget": Decimal("1.00")}]}]
    with pytest.raises(ValidationFailed, match="more than"):
        services.build_tree(over, staff)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WorkItem)) == 5


def test_service_writes_stay_within_six_statements_after_the_lock(staff, count_queries):
    p = make(None, staff, "project", allocated_budget="100.00")
    q = make(None, staff, "project", allocated_budget="100.00")
    a = make(p, staff, "activity", allocated_budget="10.00")
    t = make(a, staff, "task", allocated_budget="5.00")
    make(t, staff, "subtask")
    t = db.session.get(WorkItem, t.id)
    with count_queries() as counted:  # lock, read, shift, INSERT, audit, roll-up UPDATE, audit
        make(t, staff, "subtask", allocated_budget="1.00")
    assert counted.count - 1 <= 6, counted.statements
    a, q = db.session.get(WorkItem, a.id), db.session.get(WorkItem, q.id)
    with count_queries() as counted:  # locks, read, UPDATE, audit of the move, roll-up UPDATE, audit
        services.move_work_item(a, staff, a.version, parent=q)
    assert counted.count - 1 <= 6, counted.statements
    a = db.session.get(WorkItem, a.id)
    with count_queries() as counted:  # lock, read, DELETE, close the gap, audit, roll-up UPDATE, audit
        services.delete_work_item(a, staff, a.version)
    assert counted.count - 1 <= 6, counted.statements
    assert tree.check_integrity() == []


# ------------------------------------------------------------------------------------------------- page actions
def test_create_project_takes_only_an_organization_the_actor_may_start_trees_for(users, organizations):
    moa_staff = users["moa_staff"]
    assert [o.acronym for o in services.organizations_for_new_trees(moa_staff)] == ["MSSD"]
    with pytest.raises(ValidationFailed) as caught:
        services.create_project(moa_staff, title="Elsewhere", organization_id=organizations["MOH"].id)
    assert list(caught.value.errors) == ["organization_id"]
    root = services.create_project(moa_staff, title="Ours", organization_id=organizations["MSSD"].id)
    assert root.work_type == "project" and root.parent_id is None
    assert services.create_project(users["oobc_staff"], title="Any", organization_id=organizations["MOH"].id)


def test_reorder_work_item_moves_one_place_and_names_the_direction_when_it_cannot(staff):
    p = make(None, staff, "project")
    first, second, third = (make(p, staff, "task", title=t) for t in ("first", "second", "third"))
    services.reorder_work_item(third, staff, third.version, "up")
    assert [k.title for k in tree.children(p)] == ["first", "third", "second"]
    services.reorder_work_item(first, staff, db.session.get(WorkItem, first.id).version, "down")
    assert [k.title for k in tree.children(p)] == ["third", "first", "second"]
    for node, direction, message in ((p, "up", "top item"), (second, "sideways", "up or down"),
                                     (second, "down", "already the last")):
        with pytest.raises(ValidationFailed, match=message) as caught:
            services.reorder_work_item(node, staff, db.session.get(WorkItem, node.id).version, direction)
        assert list(caught.value.errors) == ["direction"]


def test_edit_work_item_refuses_a_transition_not_open_before_saving(staff):
    p = make(None, staff, "project")
    task = make(p, staff, "task", title="Task")
    with pytest.raises(ValidationFailed) as caught:
        services.edit_work_item(task, staff, task.version, transition="no_such_step", title="Renamed")
    assert list(caught.value.errors) == ["transition"] and task.title == "Task"
    services.edit_work_item(task, staff, task.version, assignees=[staff.id], title="Renamed")
    assert task.title == "Renamed" and [u.id for u in task.assignees] == [staff.id]
