"""The work-breakdown tree pages: the list of trees, a tree (lazy rows), a node's detail panel, and the inline
add / edit / move / reorder / delete forms.

    GET  /work-items/                      the trees the user may see; "new project" for editors
    GET  /work-items/<id>                  the tree of <id> (its ancestors opened; a node fills the detail
                                           panel); an htmx request aimed at #wi-panel gets the panel only
    GET  /work-items/<id>/children         the rows under <id> (lazy expand)
    GET  /work-items/<id>/all              every row of a small tree (expand all)
    GET  /work-items/<id>/row              one row again, with its ancestors' roll-ups (cancel, refresh)
    GET|POST /work-items/<id>/new|children add a child; GET|POST …/edit; GET|POST …/move; POST …/reorder;
    GET|POST /work-items/<id>/delete       the confirmation dialog (with the subtree size), then delete

Which nodes are open lives in the URL (?open=1,5,9; static/js/tree.js keeps it current) and is read from
HX-Current-URL on htmx requests. After a change the response carries the changed rows, and the roll-up cells
of every ancestor and the stat cards as out-of-band swaps. The `X-Tree` header tells tree.js what to take out
first ({"remove": id}: that row and the rows shown under it; {"children_of": id}: the rows shown under it,
the response's rows going in their place).

Out-of-scope nodes are 404 (as for PPAs); reading needs workitem.read, every change workitem.edit (delete:
workitem.delete), checked here and again by the services.
"""
import json
from urllib.parse import parse_qs, urlsplit

from flask import Blueprint, current_app, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from jinja2 import TemplateNotFound

from ..auth.permissions import can, load_in_scope, not_found, require
from ..errors import Conflict, ValidationFailed, conflict_context
from ..form_fields import run_service
from ..htmx import TREE_CHANGED, is_htmx, render_page, toast, trigger
from ..ids import parse_id
from ..transaction import writes
from ..workflow import available_transitions, machine_for
from ..workflow.locking import keep_theirs_where_untouched, resubmission
from . import outline, services, tree
from .forms import ChildForm, EditForm, MoveForm, ProjectForm, VersionForm, edit_form_data
from .models import WorkItem

bp = Blueprint("workitems", __name__, url_prefix="/work-items")

PANEL_ID = "wi-panel"


# ------------------------------------------------------------------------------------------------- loading
def _load(item_id, permission="workitem.read"):
    """The work item if the user may reach it: 404 outside their scope (or gone), 403 without the permission."""
    return load_in_scope(WorkItem, item_id, current_user, permission, label="work item")


def _gone(item_id):
    """The 404 for a work item that went (deleted or moved out of reach) while this request ran."""
    return not_found(WorkItem, item_id, current_user, "work item")


def _open_ids():
    """The open nodes: ?open= of this URL, or of the page an htmx request comes from."""
    value = request.args.get("open")
    if value is None and is_htmx():
        query = urlsplit(request.headers.get("HX-Current-URL", "")).query
        value = ",".join(parse_qs(query).get("open", []))
    return outline.parse_open(value)


def _history_template():
    try:
        current_app.jinja_env.get_template("audit/_history.html")
    except TemplateNotFound:
        return False
    return True


def _page_url(item, open_ids=()):
    return url_for(".show", item_id=item.tree_id, open=",".join(map(str, sorted(open_ids))) or None)


# ------------------------------------------------------------------------------------------------- pages
def _project_form():
    form = ProjectForm(prefix="project")
    form.set_organizations(services.organizations_for_new_trees(current_user))
    if not form.organization_id.data and current_user.organization_id:
        form.organization_id.data = str(current_user.organization_id)
    return form


@bp.get("/")
def index():
    require(current_user, "workitem.read")
    page = outline.roots_page(current_user, request.args.get("page"))
    form = _project_form() if can(current_user, "workitem.edit") else None
    return render_page("workitems/index.html", block="results", page=page, form=form)


def _project_form_again(error):
    form = _project_form()
    form.show_failure(error)
    page = outline.roots_page(current_user, 1)
    return render_template("workitems/index.html", page=page, form=form), 422


@bp.post("/")
@writes(on_error=_project_form_again)
def create_project():
    require(current_user, "workitem.edit")
    values, errors = _project_form().values()
    root = run_service(errors, lambda: services.create_project(current_user, **values))
    return redirect(url_for(".show", item_id=root.id), code=303)


@bp.get("/<int:item_id>")
def show(item_id):
    """The tree page (the node's ancestors opened, the node in the detail panel), or just the panel."""
    item = _load(item_id)
    if is_htmx() and request.headers.get("HX-Target") == PANEL_ID:
        return render_template("workitems/_detail.html", **_detail_context(item))
    open_ids = _open_ids()
    detail = None
    root = item
    if item.parent_id is not None:
        detail = _detail_context(item)
        if not detail["trail"]:  # it became a tree of its own meanwhile
            return redirect(url_for(".show", item_id=item.id))
        root = detail["trail"][0]
        open_ids |= {a.id for a in detail["trail"]}
    view = outline.tree_view(root, current_user, open_ids)
    return render_template("workitems/tree.html", tree=view, root_item=root, detail=detail)


def _detail_context(item):
    """The panel: breadcrumb (one query), the row's figures and assignees, workflow and history panels.
    404 when the item went while the request ran."""
    row = outline.rows_by_id([item.id]).get(item.id)
    if row is None:
        raise _gone(item.id)
    trail = tree.ancestors(item.id) if row.parent_id is not None else []
    outline.attach_assignees([row])
    return dict(item=item, row=row, trail=trail, has_machine=machine_for(WorkItem) is not None,
                has_history=_history_template(), may_edit=can(current_user, "workitem.edit", item))


# ------------------------------------------------------------------------------------------------- rows
def _rows_html(rows, may_edit, may_delete, oob_rows=(), roots=()):
    return render_template("workitems/_rows.html", rows=rows, may_edit=may_edit, may_delete=may_delete,
                           oob_rows=oob_rows, roots=roots)


def _respond(rows, item, oob_ids=(), x_tree=None, status=200, message=None, written=True):
    """Rows for the main swap, the roll-up cells of `oob_ids` and the stat cards of the roots among them;
    after a write (`written`) the obcms:tree-changed event, so the rest of the page (a PPA header) reloads."""
    outline.attach_assignees(rows)
    oob = outline.rows_by_id(oob_ids)
    html = _rows_html(rows, can(current_user, "workitem.edit", item), can(current_user, "workitem.delete", item),
                      oob_rows=list(oob.values()), roots=[r for r in oob.values() if r.parent_id is None])
    response = make_response(html, status)
    if x_tree:
        response.headers["X-Tree"] = json.dumps(x_tree)
    if written:
        trigger(response, TREE_CHANGED)
    if message:
        toast(response, message)
    return response


def _lineage(node_id, include_self=True):
    """Ids of the node's ancestors (and itself), root first; [] for None. One query."""
    if node_id is None:
        return []
    return [a.id for a in tree.ancestors(node_id, include_self=include_self)]


@bp.get("/<int:item_id>/children")
def children(item_id):
    item = _load(item_id)
    if not is_htmx():
        return redirect(_page_url(item, _open_ids() | {item.id}))
    rows = outline.attach_assignees(outline.visible_rows(item, under=item))
    html = _rows_html(rows, can(current_user, "workitem.edit", item), can(current_user, "workitem.delete", item))
    return html, 200, {"X-Tree": json.dumps({"children_of": item.id})}


@bp.get("/<int:item_id>/all")
def expand_all(item_id):
    item = _load(item_id)
    size = tree.subtree_size(item)
    if size > outline.EXPAND_ALL_LIMIT:
        raise ValidationFailed(f"This tree has {size} items; 'expand all' shows up to {outline.EXPAND_ALL_LIMIT}. "
                               "Open the branches you need instead.")
    rows = outline.attach_assignees(outline.subtree(item))
    if not is_htmx():
        return redirect(_page_url(item, {r.id for r in rows if r.has_children}))
    return _rows_html(rows, can(current_user, "workitem.edit", item), can(current_user, "workitem.delete", item))


@bp.get("/<int:item_id>/row")
def row(item_id):
    item = _load(item_id)
    if not is_htmx():
        return redirect(url_for(".show", item_id=item.id))
    rows = list(outline.rows_by_id([item.id]).values())
    return _respond(rows, item, oob_ids=_lineage(item.id), written=False)


# ------------------------------------------------------------------------------------------------- forms
def _form_response(template, status=200, **context):
    """An inline form row (htmx), or the same form on a page of its own (plain HTML)."""
    context.setdefault("conflict", None)
    if is_htmx():
        return render_template(template, **context), status
    return render_template("workitems/form_page.html", row_template=template, **context), status


def _conflict_context(error, item, form):
    """The 409 panel above `form` (already holding the current version and the colleague's values)."""
    return conflict_context(error.problem(), resubmission(form), htmx_target=f"wi-{item.id}")


def _child_form(parent):
    form = ChildForm(prefix=f"n{parent.id}")
    form.set_types(outline.allowed_child_types(parent))
    return form


@bp.get("/<int:item_id>/new")
def new_child(item_id):
    parent = _load(item_id, "workitem.edit")
    return _form_response("workitems/_child_form.html", parent=parent, form=_child_form(parent))


def _child_form_again(error, item_id):
    parent = _load(item_id)
    form = _child_form(parent)
    form.show_failure(error)
    return _form_response("workitems/_child_form.html", status=422, parent=parent, form=form)


@bp.post("/<int:item_id>/children")
@writes(on_error=_child_form_again)
def create_child(item_id):
    parent = _load(item_id, "workitem.edit")
    values, errors = _child_form(parent).values()
    child = run_service(errors, lambda: services.create_work_item(parent, current_user, **values))
    parent = _load(item_id)
    if not is_htmx():
        return redirect(_page_url(parent, _open_ids() | {parent.id}), code=303)
    rows = outline.visible_rows(parent, _open_ids() | {parent.id}, under=parent)
    return _respond(rows, parent, oob_ids=_lineage(parent.id), x_tree={"children_of": parent.id},
                    message=f"Added “{child.title}”.")


def _edit_form(item, formdata=True):
    options = available_transitions(item, current_user) if machine_for(WorkItem) is not None else []
    users = outline.assignable_users(item.organization_id)
    assigned = [u.id for u in item.assignees]
    if formdata:
        form = EditForm(prefix=f"e{item.id}")
    else:
        form = EditForm.for_item(item, assigned, prefix=f"e{item.id}", formdata=None)
    form.setup(item, options, users, container=tree.has_children(item))
    return form, options, assigned


@bp.get("/<int:item_id>/edit")
def edit(item_id):
    item = _load(item_id, "workitem.edit")
    form, _, _ = _edit_form(item, formdata=False)
    return _form_response("workitems/_edit_form.html", item=item, form=form)


def _edit_form_again(error, item_id):
    """The edit form as sent, with the errors (422), or with the colleague's change (409)."""
    item = _load(item_id)
    form, _, _ = _edit_form(item)
    if isinstance(error, Conflict):
        keep_theirs_where_untouched(form, error, edit_form_data(item, [u.id for u in item.assignees]))
        return _form_response("workitems/_edit_form.html", status=409, item=item, form=form,
                              conflict=_conflict_context(error, item, form))
    form.show_failure(error)
    return _form_response("workitems/_edit_form.html", status=422, item=item, form=form)


@bp.post("/<int:item_id>/edit")
@writes(on_error=_edit_form_again, catch=(ValidationFailed, Conflict))
def update(item_id):
    item = _load(item_id, "workitem.edit")
    form, _, _ = _edit_form(item)
    values, assignees, errors = form.values()
    run_service(errors, lambda: services.edit_work_item(item, current_user, form.version.data, assignees=assignees,
                                                  transition=form.transition.data or None, **values))
    item = _load(item_id)
    if not is_htmx():
        return redirect(_page_url(item, _open_ids()), code=303)
    rows = list(outline.rows_by_id([item.id]).values())
    return _respond(rows, item, oob_ids=_lineage(item.id, include_self=False), message=f"Saved “{item.title}”.")


# ------------------------------------------------------------------------------------------------- move
def _move_form(item, formdata=True):
    form = MoveForm(prefix=f"m{item.id}") if formdata else MoveForm(prefix=f"m{item.id}", formdata=None,
                                                                     data={"version": item.version})
    return form


def _move_page(item, form, status=200, conflict=None):
    targets = outline.move_targets(item, current_user, form.q.data or "")
    return _form_response("workitems/_move_form.html", status=status, item=item, form=form, targets=targets,
                          conflict=conflict)


@bp.get("/<int:item_id>/move")
def move(item_id):
    item = _load(item_id, "workitem.edit")
    return _move_page(item, _move_form(item, formdata=False))


@bp.get("/<int:item_id>/move-targets")
def move_targets(item_id):
    item = _load(item_id, "workitem.edit")
    form = MoveForm(prefix=f"m{item.id}", formdata=request.args)
    targets = outline.move_targets(item, current_user, form.q.data or "")
    return render_template("workitems/_move_targets.html", item=item, form=form, targets=targets)


@bp.get("/<int:item_id>/move-positions")
def move_positions(item_id):
    item = _load(item_id, "workitem.edit")
    form = MoveForm(prefix=f"m{item.id}", formdata=request.args)
    parent_id = parse_id(form.parent.data)
    kids = []
    if parent_id is not None:
        parent = _load(parent_id, "workitem.edit")
        kids = [k for k in tree.children(parent) if k.id != item.id]
    return render_template("workitems/_move_positions.html", item=item, form=form, kids=kids)


def _moved_response(item_id, moved, open_ids, message):
    item = _load(item_id)
    oob_ids = _lineage(moved.old_parent_id) + _lineage(moved.new_parent_id)
    rows, x_tree = [], {"remove": item_id}
    if moved.new_parent_id is not None:
        new_parent = _load(moved.new_parent_id)
        rows = outline.visible_rows(new_parent, open_ids | {new_parent.id}, under=new_parent)
        x_tree.update(children_of=new_parent.id, if_expanded=True)
    return _respond(rows, item, oob_ids=list(dict.fromkeys(oob_ids)), x_tree=x_tree,
                    message=message)


def _move_form_again(error, item_id):
    """The move form as sent (the service checks the version inside the tree lock; a form without its
    version is refused), with the errors (422) or the colleague's change (409)."""
    item = _load(item_id)
    form = _move_form(item)
    if isinstance(error, Conflict):
        form.version.data = error.current_version
        return _move_page(item, form, status=409, conflict=_conflict_context(error, item, form))
    form.show_failure(error)
    return _move_page(item, form, status=422)


def _moved(item_id, item, moved, describe):
    if not is_htmx():
        return redirect(url_for(".show", item_id=item_id), code=303)
    return _moved_response(item_id, moved, _open_ids(), f"Moved “{item.title}” {describe}.")


@bp.post("/<int:item_id>/move")
@writes(on_error=_move_form_again, catch=(ValidationFailed, Conflict))
def move_item(item_id):
    item = _load(item_id, "workitem.edit")
    form = _move_form(item)
    parent_id, before_id, errors = form.target()
    if errors:
        raise ValidationFailed(errors=errors)
    parent = _load(parent_id, "workitem.edit") if parent_id is not None else None
    before = _load(before_id, "workitem.edit") if before_id is not None else None
    moved = services.move_work_item(item, current_user, form.version.data, parent=parent, before=before)
    return _moved(item_id, item, moved,
                  "to a tree of its own" if moved.new_parent_id is None else "to its new place")


@bp.post("/<int:item_id>/reorder")
@writes(on_error=_move_form_again, catch=(ValidationFailed, Conflict))
def reorder(item_id):
    """Up or down among its siblings (direction=up|down)."""
    item = _load(item_id, "workitem.edit")
    direction = request.form.get("direction")
    moved = services.reorder_work_item(item, current_user, _move_form(item).version.data, direction)
    return _moved(item_id, item, moved, direction)


# ------------------------------------------------------------------------------------------------- delete
@bp.get("/<int:item_id>/delete")
def confirm_delete(item_id):
    item = _load(item_id, "workitem.delete")
    context = dict(item=item, size=tree.subtree_size(item), form=VersionForm(formdata=None, data={"version": item.version}))
    if is_htmx():
        return render_template("workitems/_delete_dialog.html", **context)
    return render_template("workitems/delete_page.html", **context)


def _delete_refused(error, item_id):
    """In the tree (htmx), the error under the row; a plain request gets the error page."""
    if not is_htmx():
        raise error
    item = _load(item_id)
    form = VersionForm()
    if isinstance(error, Conflict):
        form.version.data = error.current_version
    conflict = _conflict_context(error, item, form) if isinstance(error, Conflict) else None
    html = render_template("workitems/_error_row.html", item=item, error=error, conflict=conflict)
    return html, error.status, {"HX-Retarget": f"#wi-{item_id}", "HX-Reswap": "afterend"}


@bp.post("/<int:item_id>/delete")
@writes(on_error=_delete_refused, catch=(ValidationFailed, Conflict))
def delete(item_id):
    item = _load(item_id, "workitem.delete")
    form = VersionForm()
    parent_id, title, is_root = item.parent_id, item.title, item.parent_id is None
    gone = services.delete_work_item(item, current_user, form.version.data)
    message = f"Deleted “{title}”" + (f" and {gone - 1} item{'s' if gone != 2 else ''} under it." if gone > 1 else ".")
    if is_root:
        if is_htmx():
            return make_response("", 200, {"HX-Redirect": url_for(".index")})
        return redirect(url_for(".index"), code=303)
    if not is_htmx():
        return redirect(url_for(".show", item_id=parent_id), code=303)
    parent = _load(parent_id)
    return _respond([], parent, oob_ids=_lineage(parent_id), x_tree={"remove": item_id}, message=message)
