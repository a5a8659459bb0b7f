"""My tasks: the signed-in user's tasks as a list grouped by when they fall due, or as a board by status.

    GET  /tasks                          the list (?ppa, priority, status, sort); ?view=board for the board
    POST /tasks/<id>/<transition>        start / complete / … one task (form: version, view); answers the
                                         list or board again (htmx: its "results" block), 409 when a colleague
                                         changed the task first (the fresh list says what it is now)
Filters and the view live in the URL; the list and the board are blocks of one template.
"""
from datetime import date

from flask import Blueprint, current_app, redirect, request, url_for
from flask_login import current_user

from ..auth.permissions import can, load_in_scope, require
from ..errors import Conflict, NotAllowed, NotFound, ValidationFailed
from ..htmx import is_htmx, render_page, toast
from ..pagination import page_number
from ..transaction import writes
from ..workflow import fire, machine_for
from ..workitems.models import PRIORITIES, STATUSES, WorkItem
from . import queries

bp = Blueprint("tasks", __name__, url_prefix="/tasks")

# The actions a task row or card offers, in this order, where the task's state and the user allow them.
QUICK_ACTIONS = ("start", "resume", "complete")


def _view():
    return "board" if request.values.get("view") == "board" else "list"


def _groups(rows, filters, today):
    """By when they fall due when sorted by due date; one group in the order asked for otherwise."""
    if filters.sort == "due":
        return queries.by_when(rows, today)
    return [(f"By {filters.sort}", rows)]


def _context(filters, view, today, message=None):
    page = queries.assigned_tasks(current_user, filters, board=view == "board", page=page_number(request.values.get("page")))
    rows = page.items
    return dict(filters=filters, view=view, today=today, rows=rows, page=page, message=message,
                groups=_groups(rows, filters, today) if view == "list" else None,
                columns=queries.by_status(rows) if view == "board" else None,
                ppa_options=queries.ppa_options(current_user), priorities=PRIORITIES, statuses=STATUSES,
                quick_actions=QUICK_ACTIONS)


@bp.get("")
def index():
    require(current_user, "task.list")
    filters = queries.Filters.from_args(request.args)
    return render_page("tasks/index.html", block="results", **_context(filters, _view(), date.today()))


def _answer(filters, view, message, status=200):
    """The list or board again (htmx: the results block, with a toast), or a redirect to it."""
    if not is_htmx():
        return redirect(url_for(".index", view=view if view == "board" else None, **filters.as_args()), code=303)
    body = render_page("tasks/index.html", block="results",
                       **_context(filters, view, date.today(), message=message if status >= 400 else None))
    response = current_app.make_response((body, status))
    return toast(response, message, "success" if status < 400 else "warning")


def _refused(error, item_id, transition):
    """A colleague changed the task first, or it cannot take this step now: the fresh list says why."""
    if isinstance(error, NotAllowed) or not is_htmx():
        raise error
    return _answer(queries.Filters.from_args(request.form), _view(), error.detail or str(error), error.status)


@bp.post("/<int:item_id>/<transition>")
@writes(on_error=_refused, catch=(Conflict, ValidationFailed))
def act(item_id, transition):
    require(current_user, "task.list")
    if machine_for(WorkItem).get(transition) is None:
        raise NotFound(f"A task has no action '{transition}'.")
    item = load_in_scope(WorkItem, item_id, current_user, "workitem.edit", label="task")
    if transition not in QUICK_ACTIONS:
        raise ValidationFailed(f"'{transition}' is not an action of My tasks.")
    if item.work_type not in queries.TASK_TYPES:
        raise ValidationFailed(f"'{item.title}' is not a task.")
    fire(item, transition, current_user, expected_version=request.form.get("version"))
    return _answer(queries.Filters.from_args(request.form), _view(), f"“{item.title}”: {item.status.replace('_', ' ')}.")


def actions_for(row):
    """The quick actions (transitions) the signed-in user may take on a task row now, for the template; the
    service checks again when one is fired."""
    if not can(current_user, "workitem.edit", row):
        return []
    return [t for t in machine_for(WorkItem).from_state(row.status)
            if t.name in QUICK_ACTIONS and (t.roles is None or current_user.role in t.roles)]


@bp.app_context_processor
def _helpers():
    return {"task_actions": actions_for}
