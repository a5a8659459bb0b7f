"""The Flask-Admin console at /admin, for administrators only.

Every edit goes through the domain services (validation, audit), never a bare populate_obj + commit.
"""
from datetime import datetime

import sqlalchemy as sa
from flask import flash, request
from flask_admin import Admin, AdminIndexView, expose
from flask_admin.actions import action
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.fields import QuerySelectField, QuerySelectMultipleField
from flask_admin.contrib.sqla.filters import FilterEqual, FilterInList, FilterNotEqual, FilterNotInList
from flask_admin.model import typefmt
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from ..api.models import ApiToken
from ..api.tokens import revoke_token
from ..auth import services
from ..auth.models import ORGANIZATION_KINDS, ROLE_LABELS, ROLES, Organization, User
from ..auth.permissions import can, describe_refusal
from ..calendar import bookings
from ..calendar.models import RESOURCE_KINDS, Resource
from ..errors import Conflict, DomainError, NotAllowed, ValidationFailed
from ..extensions import db
from ..ids import parse_id
from ..jobqueue.models import JobRun
from ..notifications.models import OutboundMail
from ..tasking.models import TaskGeneration, TaskTemplate, TaskTemplateItem
from ..templating import format_datetime
from ..workflow.locking import check_version

MAX_LIST_PAGE = 1_000_000


def _local_time(view, value, name=None):
    return format_datetime(value)


class AdminOnly:
    # Times as everywhere else in obcms: Manila time to the minute, not UTC with microseconds.
    column_type_formatters = {**typefmt.BASE_FORMATTERS, datetime: _local_time}
    column_type_formatters_detail = {**typefmt.DETAIL_FORMATTERS, datetime: _local_time}

    def is_accessible(self):
        return can(current_user, "admin.console")

    def inaccessible_callback(self, name, **kwargs):
        raise NotAllowed(describe_refusal("admin.console"))

    def get_one(self, id):
        """The record of the URL's id; an id that is no id ("abc", beyond the column) is a missing record (the
        console says so) rather than a database error."""
        return None if parse_id(id) is None else super().get_one(id)

    def get_filters(self):
        """Filters with fixed options (enum columns) accept only those options: any other value in the URL is
        flashed as invalid, where it would otherwise reach the enum type and fail (a 500)."""
        filters = super().get_filters()
        for flt in filters or ():
            if isinstance(flt, FilterEqual | FilterNotEqual | FilterInList | FilterNotInList) and flt.options:
                flt.validate = _only_options(flt, self)
        return filters

    def _get_list_extra_args(self):
        """A list's ?page= and ?page_size= within sane bounds (PostgreSQL refuses a negative OFFSET)."""
        args = super()._get_list_extra_args()
        args.page = min(max(args.page or 0, 0), MAX_LIST_PAGE)
        args.page_size = min(max(args.page_size or 0, 0), 500)
        return args


class HomeView(AdminOnly, AdminIndexView):
    @expose("/")
    def index(self):
        return self.render("admin/home.html")


class ServiceModelView(AdminOnly, ModelView):
    """A model view whose create/update/delete call services and show their field errors."""

    form_base_class = FlaskForm
    can_delete = False
    can_view_details = True
    page_size = 50

    def _apply(self, form, operation):
        try:
            result = operation()
            db.session.commit()
            return result
        except Conflict:
            db.session.rollback()
            raise  # answered 409 with the conflict panel (theirs vs yours, apply mine again)
        except ValidationFailed as error:
            db.session.rollback()
            for field, messages in error.errors.items():
                if field in form:
                    form[field].errors = list(form[field].errors or []) + list(messages)
            flash(error.detail, "error")
        except DomainError as error:
            db.session.rollback()
            flash(error.detail, "error")
        return False

    @staticmethod
    def check_version(form, model):
        """The version the form was rendered with must still be current (else Conflict with the changes). Every
        edit form carries it: a post without it is refused rather than saved over whatever is there (the form
        would take the current version from the object)."""
        sent = request.form.get("version")
        if not sent:
            raise ValidationFailed("The form was sent without the version it was read at. Reload it and save again.",
                                   errors={"version": ["Missing: reload the form."]})
        submitted = {name: value for name, value in form.data.items()
                     if name not in ("csrf_token", "version") and "password" not in name}
        check_version(model, sent, submitted)


def _only_options(flt, view):
    validate = flt.validate

    def check(value):
        allowed = {str(key) for key, _ in flt.get_options(view) or ()}
        values = value.split(",") if isinstance(flt, FilterInList | FilterNotInList) else [value]
        return validate(value) and all(v.strip() in allowed for v in values)

    return check


class OrganizationForm(FlaskForm):
    name = StringField("Name")
    acronym = StringField("Acronym")
    kind = SelectField("Kind", choices=[SelectChoice(value=k, label=k) for k in ORGANIZATION_KINDS])
    contact_email = StringField("Contact e-mail", validators=[Optional()])
    is_active = BooleanField("Active", default=True)
    version = HiddenField()


class OrganizationAdmin(ServiceModelView):
    form = OrganizationForm
    column_list = ("acronym", "name", "kind", "contact_email", "is_active")
    column_searchable_list = ("name", "acronym")
    column_filters = ("kind", "is_active")
    column_default_sort = "acronym"

    def create_model(self, form):
        return self._apply(form, lambda: services.create_organization(
            form.name.data, form.acronym.data, form.kind.data, form.contact_email.data))

    def update_model(self, form, model):
        def operation():
            self.check_version(form, model)
            return services.update_organization(model, name=form.name.data, acronym=form.acronym.data,
                                                kind=form.kind.data, contact_email=form.contact_email.data,
                                                is_active=form.is_active.data)
        return bool(self._apply(form, operation))


def _organizations():
    return db.session.query(Organization).order_by(Organization.acronym)


class UserForm(FlaskForm):
    username = StringField("Username")
    email = StringField("E-mail")
    full_name = StringField("Full name")
    role = SelectField("Role", choices=[SelectChoice(value=r, label=ROLE_LABELS[r]) for r in ROLES])
    organization = QuerySelectField("Organization", query_factory=_organizations, allow_blank=True,
                                    blank_text="(none)")
    is_active = BooleanField("Active", default=True)
    password = PasswordField("Password (new users) / new password (leave empty to keep)",
                             render_kw={"autocomplete": "new-password"})
    version = HiddenField()


class UserAdmin(ServiceModelView):
    form = UserForm
    column_list = ("username", "full_name", "email", "role", "organization", "is_active", "last_login_at")
    column_searchable_list = ("username", "email", "full_name")
    column_filters = ("role", "is_active")
    column_default_sort = "username"
    column_details_exclude_list = ("password_hash", "session_token")
    column_formatters = {"role": lambda v, c, m, p: ROLE_LABELS.get(m.role, m.role)}

    def on_form_prefill(self, form, id):
        form.username.render_kw = {"readonly": True}
        form.password.data = ""

    def create_model(self, form):
        return self._apply(form, lambda: services.create_user(
            form.username.data, form.email.data, form.password.data, form.role.data, form.organization.data,
            form.full_name.data))

    def update_model(self, form, model):
        def operation():
            self.check_version(form, model)
            services.update_user(model, email=form.email.data, full_name=form.full_name.data, role=form.role.data,
                                 organization=form.organization.data, is_active=form.is_active.data)
            if form.password.data:
                services.set_password(model, form.password.data)
            return model
        return bool(self._apply(form, operation))

    @action("reset_password", "Reset password", "Give the selected users a new random password?")
    def action_reset_password(self, ids):
        users = db.session.query(User).filter(User.id.in_(_ids(ids))).all()
        issued = [(user.username, services.reset_password(user)) for user in users]
        db.session.commit()
        # On this response only: a flash message would travel in the session cookie.
        return self.render("admin/passwords_issued.html", issued=issued)

    @action("deactivate", "Deactivate", "Deactivate the selected users? They are signed out everywhere.")
    def action_deactivate(self, ids):
        users = db.session.query(User).filter(User.id.in_(_ids(ids))).all()
        try:
            for user in users:
                services.deactivate_user(user)
            db.session.commit()
            flash(f"Deactivated {len(users)} user(s).", "success")
        except ValidationFailed as error:
            db.session.rollback()
            flash("; ".join(m for ms in error.errors.values() for m in ms), "error")


def _ids(values):
    """The ids among the row ids an action was sent (anything else is ignored)."""
    return [number for number in map(parse_id, values) if number is not None]


def _active_users():
    return db.session.query(User).filter(User.is_active).order_by(User.username)


class ResourceForm(FlaskForm):
    name = StringField("Name")
    kind = SelectField("Kind", choices=[SelectChoice(value=k, label=k.capitalize()) for k in RESOURCE_KINDS])
    capacity = StringField("Capacity (people)", validators=[Optional()])
    location = StringField("Location")
    description = TextAreaField("Description")
    organization = QuerySelectField("Organization", query_factory=_organizations, allow_blank=True,
                                    blank_text="(shared: everyone may book it)")
    available = BooleanField("Available for booking", default=True)
    needs_approval = BooleanField("Bookings need approval")
    approvers = QuerySelectMultipleField("Approvers (decide on its bookings)", query_factory=_active_users,
                                         get_label=lambda user: f"{user.display_name} ({user.username})")
    version = HiddenField()


class ResourceAdmin(ServiceModelView):
    """Bookable resources: created and changed through obcms.calendar.bookings (rules, version, audit)."""

    form = ResourceForm
    column_list = ("name", "kind", "capacity", "location", "organization", "available", "needs_approval")
    column_searchable_list = ("name", "location")
    column_filters = ("kind", "available", "needs_approval")
    column_default_sort = "name"

    @staticmethod
    def _values(form):
        return dict(name=form.name.data, kind=form.kind.data, capacity=form.capacity.data,
                    location=form.location.data, description=form.description.data,
                    organization=form.organization.data, available=form.available.data,
                    needs_approval=form.needs_approval.data, approvers=form.approvers.data)

    def create_model(self, form):
        return self._apply(form, lambda: bookings.create_resource(current_user, **self._values(form)))

    def update_model(self, form, model):
        return bool(self._apply(form, lambda: bookings.update_resource(
            model, request.form.get("version"), current_user, **self._values(form))))


class ReadOnlyAdmin(AdminOnly, ModelView):
    can_create = can_edit = can_delete = False
    can_view_details = True
    page_size = 50


class JobRunAdmin(ReadOnlyAdmin):
    column_list = ("id", "name", "status", "attempts", "requested_by_label", "queued_at", "started_at",
                   "finished_at", "counts", "error")
    column_filters = ("name", "status")
    column_default_sort = ("id", True)


class OutboundMailAdmin(ReadOnlyAdmin):
    """Every e-mail obcms sent or tried to send: a failed one stays here with its error."""

    column_list = ("id", "kind", "address", "subject", "status", "attempts", "last_error", "created_at",
                   "last_attempt_at", "sent_at")
    column_details_list = (*column_list, "user", "notifications", "text_body")
    column_filters = ("kind", "status", "address")
    column_searchable_list = ("address", "subject")


class TaskTemplateAdmin(ServiceModelView):
    """Task templates with their items edited inline. Items are ordered by their position: type the numbers in
    the order wanted (gaps and ties are fine) and saving renumbers them 1…n (on_model_change). Templates are
    neither versioned nor derived: the audit listener records every change of a plain save."""

    # No delete (deactivate instead: generation records point at it); filters only take their options.
    column_list = ("name", "domain", "active", "description")
    column_searchable_list = ("name",)
    column_filters = ("domain", "active")
    column_default_sort = "name"
    form_columns = ("name", "domain", "description", "active")
    inline_models = [(TaskTemplateItem, {
        "form_columns": ("id", "position", "title", "description", "priority", "estimated_hours", "role",
                         "due_offset_days"),
        "form_args": {"position": {"validators": [InputRequired(), NumberRange(min=1, max=10_000)]},
                      "title": {"validators": [InputRequired(), Length(max=500)]},
                      "estimated_hours": {"validators": [Optional(), NumberRange(min=0, max=99_999)]},
                      "due_offset_days": {"label": "Due (days from the start)",
                                          "validators": [InputRequired(), NumberRange(min=0, max=3_650)]}},
    })]

    def scaffold_form(self):
        """The scaffolded form without Flask-Admin's own uniqueness check of the name (it queries through the
        session the view was built with); on_model_change checks it in the request's session."""
        form_class = super().scaffold_form()
        form_class.name.kwargs["validators"] = [InputRequired(), Length(max=80)]
        return form_class

    def on_model_change(self, form, model, is_created):
        """Refuse a name another template has. Renumber the items 1…n in the order of the positions typed (ties: the order on the form), through
        positions above any in use so that the UNIQUE (template, position) holds after every statement."""
        taken = sa.select(TaskTemplate.id).where(TaskTemplate.name == model.name, TaskTemplate.id != model.id)
        with db.session.no_autoflush:
            if db.session.scalar(taken) is not None:
                raise ValidationError(f"A task template named “{model.name}” exists already.")
        ordered = sorted(enumerate(model.items), key=lambda pair: (pair[1].position, pair[0]))
        for n, (_, item) in enumerate(ordered, 1):
            item.position = RENUMBER_FROM + n
        db.session.flush()
        for n, (_, item) in enumerate(ordered, 1):
            item.position = n


RENUMBER_FROM = 100_000


class TaskGenerationAdmin(ReadOnlyAdmin):
    column_list = ("id", "trigger_kind", "trigger_id", "template_id", "work_item_id", "created_at")
    column_default_sort = ("id", True)


class ApiTokenAdmin(ReadOnlyAdmin):
    """Every user's API tokens (never their digests); revoking goes through the tokens' service (audited)."""

    column_list = ("id", "user", "name", "scope", "created_at", "last_used_at", "expires_at", "revoked_at")
    column_details_exclude_list = ("token_hash",)
    column_searchable_list = ("name",)
    column_filters = ("scope",)
    column_default_sort = ("id", True)

    @action("revoke", "Revoke", "Revoke the selected tokens? Programs using them are refused from then on.")
    def action_revoke(self, ids):
        tokens = db.session.query(ApiToken).filter(ApiToken.id.in_(_ids(ids))).all()
        for token in tokens:
            revoke_token(token)
        db.session.commit()
        flash(f"Revoked {len(tokens)} token(s).", "success")


def init_admin(app):
    """A console per app (tests build several apps; Flask-Admin views are bound to one)."""
    console = Admin(app, name="obcms admin", index_view=HomeView(url="/admin"))
    console.add_view(UserAdmin(User, db, name="Users", category="People"))
    console.add_view(OrganizationAdmin(Organization, db, name="Organizations", category="People"))
    console.add_view(ResourceAdmin(Resource, db, name="Resources", category="Calendar"))
    console.add_view(TaskTemplateAdmin(TaskTemplate, db, name="Task templates", category="Tasks",
                                       endpoint="task_templates", url="/admin/task-templates"))
    console.add_view(TaskGenerationAdmin(TaskGeneration, db, name="Generated task sets", category="Tasks",
                                         endpoint="task_generations", url="/admin/task-generations"))
    console.add_view(JobRunAdmin(JobRun, db, name="Job runs", category="System"))
    console.add_view(OutboundMailAdmin(OutboundMail, db, name="E-mails", category="System"))
    console.add_view(ApiTokenAdmin(ApiToken, db, name="API tokens", category="People", endpoint="api_tokens",
                                   url="/admin/api-tokens"))
    return console
