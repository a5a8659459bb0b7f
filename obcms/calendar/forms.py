"""The calendar's forms: an event (with its recurrence), "Move to…", and which occurrences a change is for.
They read what was typed and hand it to obcms/calendar/services.py, which holds the rules."""
from datetime import date, time

from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.widgets import CheckboxInput, ListWidget

from ..form_fields import Needed, ServiceForm, VersionField, date_field, options
from . import recurrence
from .models import EVENT_KINDS, VISIBILITIES

KIND_LABELS = {"meeting": "Meeting", "workshop": "Workshop", "conference": "Conference", "training": "Training",
               "site_visit": "Site visit", "deadline": "Deadline", "other": "Other"}
VISIBILITY_LABELS = {"public": "Everyone", "organization": "Its organization",
                     "private": "Only the organizer and participants"}
REPEAT_LABELS = (("", "Does not repeat"), ("daily", "Daily"), ("weekly", "Weekly"), ("monthly", "Monthly"),
                 ("yearly", "Yearly"))
WEEKDAY_LABELS = (("MO", "Mon"), ("TU", "Tue"), ("WE", "Wed"), ("TH", "Thu"), ("FR", "Fri"), ("SA", "Sat"),
                  ("SU", "Sun"))
SCOPE_LABELS = (("occurrence", "This occurrence"), ("following", "This and the following ones"),
                ("series", "All occurrences"))


def time_field(label, **kwargs):
    return StringField(label, render_kw={"type": "time"}, **kwargs)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def parse_date(text, name, errors):
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors.setdefault(name, []).append("A date such as 2026-12-07.")
        return None


def parse_time(text, name, errors):
    text = (text or "").strip()
    if not text:
        return None
    try:
        return time.fromisoformat(text)
    except ValueError:
        errors.setdefault(name, []).append("A time such as 09:30.")
        return None


def parse_number(text, name, errors, smallest, largest):
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit() or not smallest <= int(text) <= largest:
        errors.setdefault(name, []).append(f"A whole number from {smallest} to {largest}.")
        return None
    return int(text)


class EventForm(ServiceForm):
    version = VersionField()
    scope = SelectField("Change", choices=[], default="series", validate_choice=False)
    title = StringField("Title", validators=[Needed()])
    kind = SelectField("Kind", choices=options([(k, KIND_LABELS[k]) for k in EVENT_KINDS]), validate_choice=False)
    all_day = BooleanField("All day")
    start_date = date_field("Starts", validators=[Needed()])
    start_time = time_field("at")
    end_date = date_field("Ends")
    end_time = time_field("at")
    repeat = SelectField("Repeats", choices=options(REPEAT_LABELS), validate_choice=False)
    interval = StringField("Every", default="1", render_kw={"type": "number", "min": 1, "max": 366,
                                                             "inputmode": "numeric"})
    weekdays = MultiCheckboxField("On", choices=options(WEEKDAY_LABELS), validate_choice=False)
    monthly_by = SelectField("Monthly on", choices=[], validate_choice=False)
    ends = SelectField("Ends", choices=options([("never", "Never"), ("count", "After a number of times"),
                                               ("until", "On a date")]), validate_choice=False)
    count = StringField("Times", render_kw={"type": "number", "min": 1, "max": 1000, "inputmode": "numeric"})
    until = date_field("Last day")
    location = StringField("Where")
    description = TextAreaField("Notes", render_kw={"rows": 3})
    visibility = SelectField("Who sees it", choices=options([(v, VISIBILITY_LABELS[v]) for v in VISIBILITIES]),
                             validate_choice=False)
    organization_id = SelectField("Organization", choices=[], validate_choice=False)
    participant_ids = SelectMultipleField("Participants", choices=[], validate_choice=False,
                                          render_kw={"size": 5})

    def setup(self, organizations, users, start=None):
        """Choices: organizations (the global roles pick one; others keep their own), active users, and the
        "second Tuesday" wording for the day the event starts."""
        self.organization_id.choices = options([("", "OOBC-wide (no organization)")] +
                                               [(str(o.id), o.acronym) for o in organizations])
        if not organizations:
            del self.organization_id
        self.participant_ids.choices = options([(str(u.id), u.display_name) for u in users])
        self.scope.choices = options(SCOPE_LABELS)
        day = start or parse_date(self.start_date.data, "start_date", {}) or date.today()
        self.monthly_by.choices = options(
            [("day", f"day {day.day}")] +
            [(f"weekday:{nth}", text) for nth, text in recurrence.nth_weekday_options(day)])

    def values(self):
        """(the service's values, the errors of text that could not be read)."""
        errors = {}
        values = {"title": self.title.data, "kind": self.kind.data, "all_day": bool(self.all_day.data),
                  "location": self.location.data, "description": self.description.data,
                  "visibility": self.visibility.data,
                  "start_date": parse_date(self.start_date.data, "start_date", errors),
                  "end_date": parse_date(self.end_date.data, "end_date", errors),
                  "start_time": parse_time(self.start_time.data, "start_time", errors),
                  "end_time": parse_time(self.end_time.data, "end_time", errors),
                  "participant_ids": self.participant_ids.data or []}
        if "organization_id" in self._fields:
            values["organization_id"] = self.organization_id.data
        if values["start_date"] is None and "start_date" not in errors:
            errors["start_date"] = ["Give the day it starts."]
        values["rule"] = self._rule(errors)
        return values, errors

    def _rule(self, errors):
        if not self.repeat.data:
            return None
        if self.repeat.data not in recurrence.FREQUENCIES:
            errors.setdefault("repeat", []).append("Choose how often it repeats.")
            return None
        interval = parse_number(self.interval.data, "interval", errors, 1, recurrence.MAX_INTERVAL) or 1
        monthly_by, nth = "day", None
        if (self.monthly_by.data or "").startswith("weekday:"):
            monthly_by = "weekday"
            try:
                nth = int(self.monthly_by.data.split(":", 1)[1])
            except ValueError:
                errors.setdefault("monthly_by", []).append("Choose from the list.")
        count = until = None
        if self.ends.data == "count":
            count = parse_number(self.count.data, "count", errors, 1, recurrence.MAX_COUNT)
            if count is None and "count" not in errors:
                errors["count"] = ["How many times?"]
        elif self.ends.data == "until":
            until = parse_date(self.until.data, "until", errors)
            if until is None and "until" not in errors:
                errors["until"] = ["Give the last day."]
        weekdays = tuple(d for d in recurrence.WEEKDAYS if d in (self.weekdays.data or []))
        return recurrence.Rule(self.repeat.data, interval=interval,
                               weekdays=weekdays if self.repeat.data == "weekly" else (),
                               monthly_by=monthly_by if self.repeat.data in ("monthly", "yearly") else "day",
                               nth=nth, count=count, until=until)


def event_form_data(values):
    """The form's data from services.form_values (an event as it is, or one occurrence of it)."""
    rule = values["rule"]
    data = {"title": values["title"], "kind": values["kind"], "all_day": values["all_day"],
            "location": values["location"], "description": values["description"],
            "visibility": values["visibility"],
            "organization_id": "" if values["organization_id"] is None else str(values["organization_id"]),
            "start_date": values["start_date"].isoformat(), "end_date": values["end_date"].isoformat(),
            "start_time": values["start_time"].strftime("%H:%M") if values["start_time"] else "",
            "end_time": values["end_time"].strftime("%H:%M") if values["end_time"] else "",
            "participant_ids": [str(i) for i in values["participant_ids"]], "repeat": "", "ends": "never"}
    if rule is not None:
        data.update(repeat=rule.freq, interval=str(rule.interval), weekdays=list(rule.weekdays),
                    monthly_by="day" if rule.monthly_by == "day" else f"weekday:{rule.nth}",
                    ends="count" if rule.count else "until" if rule.until else "never",
                    count=str(rule.count or ""), until=rule.until.isoformat() if rule.until else "")
    return data


class MoveForm(ServiceForm):
    """ "Move to…": the keyboard's way to reschedule (a drag on the calendar posts the same fields)."""

    version = VersionField()
    to_date = date_field("New day", validators=[Needed()])
    to_time = time_field("New start time")
    scope = SelectField("Move", choices=options(SCOPE_LABELS), default="series", validate_choice=False)


class ScopeForm(ServiceForm):
    version = VersionField()
    scope = SelectField("Which", choices=options(SCOPE_LABELS), default="series", validate_choice=False)
