"""My tasks: the signed-in user's tasks as a list grouped by when they fall due, or as a board by status; the
team view of a lead: tasks and load per person, and each person's tasks in the same list.

    GET  /tasks                          the list (?ppa, priority, status, sort); ?view=board for the board
    GET  /tasks/team                     open / overdue / load per person of an organization (?organization)
    GET  /tasks/team/<person_id>         that person's tasks, as the list or the board (task.team)
    POST /tasks/<id>/<transition>        start / complete / … one task (form: version, view, person and the
                                         filters); answers the list or board again (htmx: its "results"
                                         block), 409 when a colleague changed the task first (the fresh list
                                         says what it is now)
    POST /tasks/<id>/snooze              snooze my reminders of it (days: 1, 3, 7; 0 wakes them)
    GET  /tasks/<id>/reassign            the form handing it to someone else (htmx: a dialog)
    POST /tasks/<id>/reassign            hand it over (version, to, person = from whom); 409 keeps theirs
Filters, the view and the person live in the URL (and ride along in every action's form, so the answer is
the same list); the list and the board are blocks of one template.
"""
from datetime import date, timedelta

from flask import Blueprint, current_app, redirect, request, url_for
from flask_login import current_user

from ..audit.events import label_of
from ..auth.permissions import can, load_in_scope, require
from ..errors import Conflict, NotAllowed, NotFound, ValidationFailed
from ..htmx import is_htmx, render_page, toast, trigger
from ..ids import parse_id
from ..pagination import page_number
from ..templating import format_date
from ..transaction import writes
from ..workflow import fire, machine_for
from ..workitems import services as workitems
from ..workitems.models import PRIORITIES, STATUSES, WorkItem
from ..workitems.outline import assignable_users
from ..workitems.reminders import local_today, snooze_reminder
from . import queries

bp = Blueprint("tasks", __name__, url_prefix="/tasks")

# The status changes a task row or card offers where the task's state and the user allow them: buttons for
# the everyday ones, the rest in the row's "More" menu. Dragging a card on the board fires the one whose
# target is the column it is dropped on.
BUTTON_ACTIONS = ("start", "resume", "complete")
MENU_ACTIONS = ("flag_at_risk", "block", "reopen")
QUICK_ACTIONS = BUTTON_ACTIONS + MENU_ACTIONS
SNOOZE_DAYS = {1: "1 day", 3: "3 days", 7: "1 week"}  # 0: stop snoozing


def _view():
    return "board" if request.values.get("view") == "board" else "list"


def _groups(rows, filters, today):
    """By when they fall due when sorted by due date; one group in the order asked for otherwise."""
    if filters.sort == "due":
        return queries.by_when(rows, today)
    return [(f"By {filters.sort}", rows)]


def _whose(value):
    """The person whose tasks are shown: the signed-in user, or (the team view) a person the lead may see
    (404 otherwise) when they may look at their team (403 otherwise)."""
    person_id = parse_id(value)
    if person_id is None or person_id == current_user.id:
        return current_user
    person = queries.team_member(current_user, person_id)
    require(current_user, "task.team")
    return person


def _carry(person, filters, view):
    """The query arguments of this list (its view, person and filters): links and every action's form keep them."""
    own = person.id == current_user.id
    return {key: value for key, value in {"view": "board" if view == "board" else None,
                                          "person": None if own else person.id, **filters.as_args()}.items()
            if value}


def _list_url(person, carry, **changes):
    """The URL of this list (My tasks, or a team member's tasks) with its arguments, some changed."""
    args = {key: value for key, value in {**carry, **changes}.items() if key != "person" and value}
    if person.id == current_user.id:
        return url_for("tasks.index", **args)
    return url_for("tasks.member", person_id=person.id, **args)


def _context(person, filters, view, message=None):
    """What the list and the board show. Dates are the server's (as the due dates were entered); a snooze
    runs to the end of a day in the configured zone, as the reminders count days."""
    today = date.today()
    page = queries.assigned_tasks(person, filters, board=view == "board", page=page_number(request.values.get("page")),
                                  viewer=current_user, today=local_today())
    rows = page.items
    carry = _carry(person, filters, view)
    return dict(filters=filters, view=view, today=today, rows=rows, page=page, message=message, person=person,
                own=person.id == current_user.id, carry=carry,
                list_url=lambda **changes: _list_url(person, carry, **changes),
                page_url=lambda number: _list_url(person, carry, page=number),
                groups=_groups(rows, filters, today) if view == "list" else None,
                columns=queries.by_status(rows) if view == "board" else None,
                ppa_options=queries.ppa_options(person, viewer=current_user), priorities=PRIORITIES,
                statuses=STATUSES, snooze_days=SNOOZE_DAYS, may_see_team=can(current_user, "task.team"))


@bp.get("")
def index():
    require(current_user, "task.list")
    if request.args.get("view") == "team":
        return redirect(url_for(".team"), code=303)
    filters = queries.Filters.from_args(request.args)
    return render_page("tasks/index.html", block="results",
                       **_context(current_user, filters, _view()))


@bp.get("/team")
def team():
    require(current_user, "task.team")
    organizations = queries.team_organizations(current_user)
    allowed = [organization_id for organization_id, _ in organizations]
    chosen = parse_id(request.args.get("organization"))
    if chosen not in allowed:  # none or nonsense asked for: the lead's own organization (else the first)
        chosen = current_user.organization_id if current_user.organization_id in allowed else next(iter(allowed), None)
    today = date.today()
    members = queries.team(current_user, chosen, today) if chosen is not None else []
    return render_page("tasks/team.html", block="results", members=members, organizations=organizations,
                       organization_id=chosen, today=today, horizon=today + timedelta(days=queries.LOAD_DAYS),
                       capacity=queries.CAPACITY_HOURS)


@bp.get("/team/<int:person_id>")
def member(person_id):
    require(current_user, "task.list")
    person = queries.team_member(current_user, person_id)
    require(current_user, "task.team")
    filters = queries.Filters.from_args(request.args)
    return render_page("tasks/index.html", block="results", **_context(person, filters, _view()))


def _answer(message, status=200, close_dialog=None):
    """The list or board the action came from again (htmx: the results block, with a toast), or a redirect
    to it."""
    person, filters, view = _whose(request.form.get("person")), queries.Filters.from_args(request.form), _view()
    if not is_htmx():
        return redirect(_list_url(person, _carry(person, filters, view)), code=303)
    body = render_page("tasks/index.html", block="results",
                       **_context(person, filters, view, message=message if status >= 400 else None))
    response = current_app.make_response((body, status))
    if close_dialog:
        trigger(response, "obcms:close-dialog", {"id": close_dialog})
    return toast(response, message, "success" if status < 400 else "warning")


def _refused(error, item_id, transition=None):
    """A colleague changed the task first, or it cannot take this step now: the fresh list says why (and, for
    a colleague's change, what each changed field is now)."""
    if isinstance(error, NotAllowed | NotFound) or not is_htmx():
        raise error
    message = error.detail or str(error)
    if isinstance(error, Conflict) and error.changed_fields:
        now = "; ".join(f"{label_of(name)}: {str(facts.get('current') or '—').replace('_', ' ')}"
                        for name, facts in error.changed_fields.items())
        message = f"{message} Now — {now}."
    return _answer(message, error.status, close_dialog=f"reassign-{item_id}")


def _task(item_id, permission):
    require(current_user, "task.list")
    item = load_in_scope(WorkItem, item_id, current_user, permission, label="task")
    if item.work_type not in queries.TASK_TYPES:
        raise ValidationFailed(f"'{item.title}' is not a task.")
    return item


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
    return _answer(f"“{item.title}”: {item.status.replace('_', ' ')}.")


@bp.post("/<int:item_id>/snooze")
@writes(on_error=_refused, catch=(ValidationFailed,))
def snooze(item_id):
    """Snooze the signed-in user's own reminders of a task assigned to them."""
    item = _task(item_id, "workitem.read")
    days = parse_id(request.form.get("days"))
    if days not in SNOOZE_DAYS and days != 0:
        message = "Snooze for 1 day, 3 days or 1 week."
        raise ValidationFailed(message, errors={"days": [message]})
    if current_user.id not in {user.id for user in item.assignees}:
        message = f"“{item.title}” is not assigned to you: only its assignees are reminded of it."
        raise ValidationFailed(message, errors={"days": [message]})
    today = local_today()
    until = today + timedelta(days=days) if days else None
    snooze_reminder(item, current_user, until, today=today)
    if until is None:
        return _answer(f"You will be reminded of “{item.title}” again.")
    return _answer(f"Reminders of “{item.title}” snoozed until {format_date(until)}.")


def _reassign_page(item, status=200, errors=None, chosen=None):
    person = _whose(request.values.get("person"))
    filters = queries.Filters.from_args(request.values)
    carry = _carry(person, filters, _view())
    people = [user for user in assignable_users(item.organization_id)
              if workitems.may_hold(user, item) and user.id != person.id]
    version = request.form.get("version") if request.method == "POST" else item.version
    body = render_page("tasks/reassign.html", block="form", item=item, person=person, people=people,
                       carry=carry, version=version, errors=errors or {}, chosen=chosen,
                       back_url=_list_url(person, carry), dialog=is_htmx())
    response = current_app.make_response((body, status))
    if is_htmx() and status >= 400:
        response.headers["HX-Retarget"] = "#task-dialog"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


@bp.get("/<int:item_id>/reassign")
def reassign_form(item_id):
    return _reassign_page(_task(item_id, "workitem.edit"))


def _reassign_again(error, item_id):
    """A colleague changed the task first: the fresh list (theirs kept, nothing of mine written). Anything
    else the user can correct: the form again with the error beside its field."""
    if isinstance(error, Conflict):
        return _refused(error, item_id)
    item = _task(item_id, "workitem.edit")
    errors = dict(error.errors) or {"to": [error.detail]}
    return _reassign_page(item, status=422, errors=errors, chosen=parse_id(request.form.get("to")))


@bp.post("/<int:item_id>/reassign")
@writes(on_error=_reassign_again, catch=(Conflict, ValidationFailed))
def reassign(item_id):
    item = _task(item_id, "workitem.edit")
    person = _whose(request.form.get("person"))
    workitems.reassign_work_item(item, current_user, request.form.get("version"), person.id,
                                 parse_id(request.form.get("to")))
    names = ", ".join(user.display_name for user in item.assignees)
    return _answer(f"“{item.title}” is now with {names}.", close_dialog=f"reassign-{item_id}")


def actions_for(row):
    """The quick actions (transitions) the signed-in user may take on a task row now, for the template; the
    service checks again when one is fired."""
    if not can(current_user, "workitem.edit", row):
        return []
    return [t for t in machine_for(WorkItem).from_state(row.status)
            if t.name in QUICK_ACTIONS and (t.roles is None or current_user.role in t.roles)]


@bp.app_context_processor
def _helpers():
    return {"task_actions": actions_for, "task_button_actions": BUTTON_ACTIONS}
