"""Assessment pages: the list, the form (new and edit) and the detail page with the tasks it generated.

    GET       /assessments                 the assessments of the user's scope (paged; htmx: the results block)
    GET|POST  /assessments/new             a new assessment → its detail page (its tasks follow after the commit)
    GET       /assessments/<id>            facts and generated tasks
    GET|POST  /assessments/<id>/edit       version-checked (a stale save is a 409 with both values)
"""
import sqlalchemy as sa
from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user

from ..auth.permissions import can, require
from ..extensions import db
from ..form_fields import run_service
from ..htmx import render_page
from ..tasking.models import TaskGeneration
from ..transaction import writes
from ..workitems.models import WorkItem
from . import services
from .forms import AssessmentForm, form_data

bp = Blueprint("assessments", __name__, url_prefix="/assessments")


@bp.get("")
def index():
    require(current_user, "assessment.read")
    page = services.assessments_page(current_user, request.args.get("page"))
    return render_page("assessments/index.html", block="results", page=page,
                       may_create=can(current_user, "assessment.create"))


def _form(assessment=None, formdata=True):
    data = form_data(assessment) if assessment is not None else {
        "organization_id": str(current_user.organization_id or ""), "lead_id": str(current_user.id)}
    form = AssessmentForm() if formdata else AssessmentForm(formdata=None, data=data)
    return form.setup(services.organizations_for(current_user), services.leads_for(current_user))


def _form_again(error, assessment_id=None):
    assessment = services.get_assessment(assessment_id, current_user) if assessment_id is not None else None
    form = _form(assessment)
    form.show_failure(error)
    return render_template("assessments/form.html", form=form, assessment=assessment), 422


@bp.route("/new", methods=["GET", "POST"])
@writes(on_error=_form_again)
def new():
    require(current_user, "assessment.create")
    if request.method == "GET":
        return render_template("assessments/form.html", form=_form(formdata=False), assessment=None)
    form = _form()
    values, errors = form.values()
    assessment = run_service(errors, lambda: services.create_assessment(current_user, **values))
    return redirect(url_for(".detail", assessment_id=assessment.id), code=303)


@bp.get("/<int:assessment_id>")
def detail(assessment_id):
    assessment = services.get_assessment(assessment_id, current_user)
    activity = db.session.scalar(
        sa.select(WorkItem).join(TaskGeneration, TaskGeneration.work_item_id == WorkItem.id)
        .where(TaskGeneration.trigger_kind == "assessment", TaskGeneration.trigger_id == assessment.id))
    tasks = db.session.scalars(sa.select(WorkItem).where(WorkItem.parent_id == activity.id)
                               .order_by(WorkItem.due_date, WorkItem.id)).all() if activity is not None else []
    return render_template("assessments/detail.html", assessment=assessment, activity=activity, tasks=tasks,
                           may_edit=can(current_user, "assessment.edit", assessment))


@bp.route("/<int:assessment_id>/edit", methods=["GET", "POST"])
@writes(on_error=_form_again)
def edit(assessment_id):
    assessment = services.get_assessment(assessment_id, current_user, "assessment.edit")
    if request.method == "GET":
        return render_template("assessments/form.html", form=_form(assessment, formdata=False), assessment=assessment)
    form = _form(assessment)
    values, errors = form.values()
    run_service(errors, lambda: services.update_assessment(assessment, form.version.data, current_user, **values))
    return redirect(url_for(".detail", assessment_id=assessment_id), code=303)
