"""Writing on the calendar: new events, edits, "Move to…" and deletes — of a series, one occurrence or this
and the following ones — and rescheduling a work item. Each form works as a page and as a dialog (htmx);
a success closes the dialog, says what happened and reloads the calendar's view (obcms:calendar-changed).

    GET|POST /calendar/events/new[?date=2026-12-07]
    GET|POST /calendar/events/<id>/edit[?occurrence=20261214T0900]
    GET|POST /calendar/events/<id>/move[?occurrence=…]
    GET|POST /calendar/events/<id>/delete[?occurrence=…]
    GET|POST /calendar/work-items/<id>/move
"""
import json
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import make_response, redirect, render_template, request, url_for
from flask_login import current_user
from jinja2_fragments.flask import render_block

from ..auth.models import Organization, User
from ..auth.permissions import READ_ALL, can, load_in_scope, require
from ..errors import Conflict, ValidationFailed, conflict_context
from ..extensions import db
from ..form_fields import run_service
from ..htmx import is_htmx, toast, trigger
from ..transaction import writes
from ..workflow.locking import keep_theirs_where_untouched, resubmission
from ..workitems.models import WorkItem
from . import services
from .forms import EventForm, MoveForm, ScopeForm, event_form_data, parse_date, parse_time
from .queries import occurrence_start, visible_event
from .views import bp, today

CHANGED = "obcms:calendar-changed"  # the calendar's view reloads itself (templates/calendar/index.html)


def _render(template, status=200, **context):
    """The dialog (htmx) or the page."""
    context.setdefault("modal", is_htmx())
    if is_htmx():
        block = "body" if request.headers.get("HX-Target", "").endswith("-body") else "dialog"
        return render_block(template, block, **context), status
    return render_template(template, **context), status


def _done(message, day, dialog_id):
    """After a write: back to the calendar on `day` (a page, or a dialog opened on an event's own page, which
    may show something gone or moved now); or close the dialog, say it, and reload the calendar's view."""
    back = url_for("calendar.index", date=day.isoformat())
    if not is_htmx():
        return redirect(back, code=303)
    if urlsplit(request.headers.get("HX-Current-URL", "")).path.startswith(url_for("calendar.index") + "/"):
        response = make_response("", 200)
        response.headers["HX-Redirect"] = back
        return response
    response = make_response("", 200)
    response.headers["HX-Reswap"] = "none"
    trigger(response, CHANGED)
    toast(response, message)
    response.headers["HX-Trigger-After-Settle"] = json.dumps({"obcms:close-dialog": {"id": dialog_id}})
    return response


def _choices():
    organizations = db.session.scalars(sa.select(Organization).where(Organization.is_active)
                                       .order_by(Organization.acronym)).all() if current_user.role in READ_ALL else []
    users = db.session.scalars(sa.select(User).where(User.is_active).order_by(User.full_name, User.username)).all()
    return organizations, users


def _occurrence():
    return request.values.get("occurrence") or None


def _event_and_occurrence(event_id, permission_check=True):
    event = visible_event(event_id, current_user)
    stamp = _occurrence()
    start = occurrence_start(event, stamp) if stamp and event.rrule else None
    if permission_check and not (event.organizer_id == current_user.id or can(current_user, "calendar.manage", event)):
        require(current_user, "calendar.manage", event)
    return event, stamp, start


# ------------------------------------------------------------------------------------------------- new
def _new_form(formdata=True):
    form = EventForm() if formdata else EventForm(formdata=None, data=_defaults())
    form.setup(*_choices())
    return form


def _defaults():
    day = parse_date(request.args.get("date"), "date", {}) or today()
    return {"start_date": day.isoformat(), "end_date": day.isoformat(), "start_time": "09:00", "end_time": "10:00",
            "kind": "meeting", "visibility": "organization", "interval": "1", "ends": "never",
            "organization_id": "" if current_user.organization_id is None else str(current_user.organization_id)}


def _new_again(error):
    form = _new_form()
    form.show_failure(error)
    return _render("calendar/event_form.html", 422, form=form, event=None)


@bp.route("/events/new", methods=["GET", "POST"])
@writes(on_error=_new_again)
def new_event():
    require(current_user, "calendar.create")
    if request.method == "GET":
        return _render("calendar/event_form.html", form=_new_form(formdata=False), event=None)
    form = _new_form()
    values, errors = form.values()
    event = run_service(errors, lambda: services.create_event(current_user, **values))
    return _done(f"“{event.title}” is on the calendar.", values["start_date"], "event-dialog")


# ------------------------------------------------------------------------------------------------- edit
def _edit_form(event, start, formdata=True):
    if formdata:
        form = EventForm()
    else:
        form = EventForm(formdata=None, data={**event_form_data(services.form_values(event, start)),
                                              "version": event.version, "scope": "occurrence" if start else "series"})
    form.setup(*_choices(), start=start.date() if start else None)
    return form


def _edit_context(event, stamp, start, form, **more):
    return dict(form=form, event=event, occurrence=stamp, start=start, **more)


def _edit_again(error, event_id):
    event, stamp, start = _event_and_occurrence(event_id)
    form = _edit_form(event, start)
    if isinstance(error, Conflict):
        keep_theirs_where_untouched(form, error, event_form_data(services.form_values(event, start)))
        conflict = conflict_context(error.problem(), resubmission(form), htmx_target="event-body")
        return _render("calendar/event_form.html", 409, **_edit_context(event, stamp, start, form, conflict=conflict))
    form.show_failure(error)
    return _render("calendar/event_form.html", 422, **_edit_context(event, stamp, start, form))


@bp.route("/events/<int:event_id>/edit", methods=["GET", "POST"])
@writes(on_error=_edit_again, catch=(ValidationFailed, Conflict))
def edit_event(event_id):
    event, stamp, start = _event_and_occurrence(event_id)
    if request.method == "GET":
        form = _edit_form(event, start, formdata=False)
        return _render("calendar/event_form.html", **_edit_context(event, stamp, start, form))
    form = _edit_form(event, start)
    values, errors = form.values()
    changed = run_service(errors, lambda: services.update_event(
        event, form.version.data, current_user, scope=form.scope.data or "series", occurrence=start,
        **values))
    return _done(f"“{changed.title}” saved.", values["start_date"], "event-dialog")


# ------------------------------------------------------------------------------------------------- move
def _move_again(error, event_id):
    event, stamp, start = _event_and_occurrence(event_id)
    form = MoveForm()
    if isinstance(error, Conflict):
        form.version.data = error.current_version
        return _render("calendar/event_move.html", 409, form=form, event=event, occurrence=stamp, start=start,
                       conflict=conflict_context(error.problem(), resubmission(form), htmx_target="event-body"))
    form.show_failure(error)
    return _render("calendar/event_move.html", 422, form=form, event=event, occurrence=stamp, start=start)


@bp.route("/events/<int:event_id>/move", methods=["GET", "POST"])
@writes(on_error=_move_again, catch=(ValidationFailed, Conflict))
def move_event(event_id):
    event, stamp, start = _event_and_occurrence(event_id)
    if request.method == "GET":
        first = start.date() if start else services.form_values(event)["start_date"]
        form = MoveForm(formdata=None, data={"version": event.version, "scope": "occurrence" if stamp else "series",
                                             "to_date": first.isoformat()})
        return _render("calendar/event_move.html", form=form, event=event, occurrence=stamp, start=start)
    form = MoveForm()
    errors = {}
    to_date = parse_date(form.to_date.data, "to_date", errors)
    to_time = parse_time(form.to_time.data, "to_time", errors)
    if to_date is None and "to_date" not in errors:
        errors["to_date"] = ["Pick the new day."]
    moved = run_service(errors, lambda: services.move_event(event, form.version.data, current_user, to_date, to_time,
                                                             scope=form.scope.data or "series", occurrence=start))
    return _done(f"“{moved.title}” moved to {to_date:%-d %b %Y}.", to_date, "event-dialog")


# ------------------------------------------------------------------------------------------------- delete
def _delete_again(error, event_id):
    event, stamp, start = _event_and_occurrence(event_id)
    return _render("calendar/event_delete.html", error.status, form=ScopeForm(), event=event, occurrence=stamp,
                   start=start, error=error)


@bp.route("/events/<int:event_id>/delete", methods=["GET", "POST"])
@writes(on_error=_delete_again, catch=(ValidationFailed, Conflict))
def delete_event(event_id):
    event, stamp, start = _event_and_occurrence(event_id)
    if request.method == "GET":
        form = ScopeForm(formdata=None, data={"version": event.version,
                                              "scope": "occurrence" if stamp else "series"})
        return _render("calendar/event_delete.html", form=form, event=event, occurrence=stamp, start=start)
    form = ScopeForm()
    title, day = event.title, (start or event.starts_at).date()
    services.delete_event(event, form.version.data, current_user, scope=form.scope.data or "series", occurrence=start)
    return _done(f"“{title}” deleted.", day, "event-dialog")


# ------------------------------------------------------------------------------------------------- work items
def _work_item(item_id):
    return load_in_scope(WorkItem, item_id, current_user, "workitem.edit", "work item")


def _move_item_again(error, item_id):
    item = _work_item(item_id)
    form = MoveForm()
    if isinstance(error, Conflict):
        form.version.data = error.current_version
    else:
        form.show_failure(error)
    return _render("calendar/work_item_move.html", error.status, form=form, item=item,
                   conflict=conflict_context(error.problem(), resubmission(form), htmx_target="event-body") if isinstance(error, Conflict) else None)


@bp.route("/work-items/<int:item_id>/move", methods=["GET", "POST"])
@writes(on_error=_move_item_again, catch=(ValidationFailed, Conflict))
def move_work_item(item_id):
    """Reschedule a work item from the calendar: its dates shift together, through the tree's write call."""
    item = _work_item(item_id)
    if request.method == "GET":
        anchor = item.due_date if item.work_type in ("task", "subtask") or item.start_date is None else item.start_date
        form = MoveForm(formdata=None, data={"version": item.version,
                                             "to_date": anchor.isoformat() if anchor else ""})
        return _render("calendar/work_item_move.html", form=form, item=item)
    form = MoveForm()
    errors = {}
    to_date = parse_date(form.to_date.data, "to_date", errors)
    if to_date is None and "to_date" not in errors:
        errors["to_date"] = ["Pick the new day."]
    run_service(errors, lambda: services.move_work_item_dates(item, form.version.data, current_user, to_date))
    return _done(f"“{item.title}” moved to {to_date:%-d %b %Y}.", to_date, "event-dialog")
