"""The budget distribution modal, the PPA Budget tab's parts (allocation tree, distribution history) and
restore.

    GET  /budget/work-items/<id>/distribute           the dialog (htmx) or a page; ?method=&amount=&from=
    POST /budget/work-items/<id>/distribute/preview   live preview: the footer + each share cell (out of band)
    POST /budget/work-items/<id>/distribute           apply; 422/409 re-render the dialog's body
    GET|POST /budget/distributions/<id>/restore       confirmation, then restore (a new distribution)
    GET  /budget/work-items/<id>/ledger               a node's ledger (dialog for htmx, or a page); ?page=&kind=
    POST /budget/work-items/<id>/ledger               record an obligation / disbursement / adjustment (422 keeps it)
    POST /budget/entries/<id>/reverse                 reverse an entry (reason; 409 when someone reversed it first)
    GET|POST /budget/ppas/<id>/import                 entries from a CSV/Excel file: check (dry run), then import
    GET  /budget/ppas/<id>/import/template.csv        the file to fill

`from` says where the dialog was opened: "tree" (the work-item tree: the answer carries the roll-up and
allocation cells of the node, its ancestors and its shown children, and the stat cards, out of band, in the
tree view's ids) or "budget" (the PPA's Budget tab: the allocation tree and the history, out of band). Form
fields: method, amount, weight-<child id> or amount-<child id>, v-<id> (the versions the user saw, node and
children), rescale=1 (scale down the items under a child whose share is less than they hold) with rv-<id>
(the versions of the items the previewed rescale changes).
"""
import json
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from flask import Blueprint, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from jinja2_fragments.flask import render_block

from ..auth.permissions import can, load_in_scope
from ..errors import Conflict, NotFound, ValidationFailed
from ..extensions import db
from ..htmx import TREE_CHANGED, is_htmx, toast, trigger
from ..ids import parse_id
from ..money import format_pesos
from ..ppas.models import Ppa
from ..ppas.views import TAB_CONTEXTS
from ..transaction import writes
from ..workitems import outline, rollup
from ..workitems.models import WorkItem
from ..workitems.reminders import local_today
from . import importing, ledger, services
from .distribution import METHODS
from .forms import EntryForm, ReverseForm
from .models import Distribution

bp = Blueprint("budget", __name__, url_prefix="/budget")

PAGE = "budget/distribute.html"
METHOD_LABELS = (("equal", "Equal"), ("weighted", "Weighted"), ("manual", "Manual"))
INPUT_PREFIX = {"weighted": "weight-", "manual": "amount-"}


# ------------------------------------------------------------------------------------------------- loading
def _node(node_id):
    """The work item if the user may distribute its budget: 404 outside their scope, 403 without the right."""
    return load_in_scope(WorkItem, node_id, current_user, "budget.distribute", "work item")


def _scoped_ppa(ppa_id, permission="ppa.read"):
    return load_in_scope(Ppa, ppa_id, current_user, permission, "PPA")


def _distribution(distribution_id):
    record = db.session.get(Distribution, distribution_id)
    if record is None:
        raise NotFound(f"There is no distribution #{distribution_id}.")
    return record, _scoped_ppa(record.ppa_id, "budget.distribute")


# ------------------------------------------------------------------------------------------------- form
def _origin():
    return "budget" if request.values.get("from") == "budget" else "tree"


def _method():
    method = request.values.get("method")
    return method if method in METHODS else "equal"


def _inputs(method):
    prefix = INPUT_PREFIX.get(method)
    if prefix is None:
        return {}
    return {parse_id(key[len(prefix):]): value for key, value in request.values.items()
            if key.startswith(prefix) and parse_id(key[len(prefix):]) is not None}


def _versions(prefix="v-"):
    return {parse_id(key[len(prefix):]): parse_id(value) for key, value in request.form.items()
            if key.startswith(prefix) and parse_id(key[len(prefix):]) is not None and parse_id(value) is not None}


def _rescale():
    return request.values.get("rescale") == "1"


def _preview(node):
    """The preview for this request's form; when it sent no inputs (opening, switching method), the
    suggested ones. One query; two with a rescale."""
    facts, children = services.read_family(node)
    method = _method()
    inputs = _inputs(method)
    if not inputs:
        inputs = services.initial_inputs(method, children)
    items = services.read_items(facts) if _rescale() else None
    return services.compute_preview(facts, children, method, inputs, request.values.get("amount"), items)


def _context(preview, **extra):
    node_id = preview.node.id
    origin = _origin()
    return dict(preview=preview, node=preview.node, origin=origin, methods=METHOD_LABELS, modal=is_htmx(),
                prefix=INPUT_PREFIX.get(preview.method),
                apply_url=url_for(".apply", node_id=node_id),
                preview_url=url_for(".preview", node_id=node_id),
                switch_urls={m: url_for(".distribute", node_id=node_id, method=m, **{"from": origin}) for m in METHODS},
                back_url=_back_url(preview.node, origin), **{"conflict": None, "failure": None, **extra})


def _back_url(node, origin):
    if origin == "budget" and node.ppa_id is not None:
        return url_for("ppas.detail", ppa_id=node.ppa_id, tab="budget")
    return url_for("workitems.show", item_id=node.tree_id)


def _render(block, status=200, **context):
    """The dialog (htmx) in `block`, or the whole page."""
    if is_htmx():
        return render_block(PAGE, block, **context), status
    return render_template(PAGE, **context), status


# ------------------------------------------------------------------------------------------------- modal
@bp.get("/work-items/<int:node_id>/distribute")
def distribute(node_id):
    node = _node(node_id)
    context = _context(_preview(node))
    block = "body" if request.headers.get("HX-Target") == "distribute-body" else "dialog"
    return _render(block, **context)


@bp.post("/work-items/<int:node_id>/distribute/preview")
def preview(node_id):
    """The live preview: the footer (totals, errors, Apply) and the share cells out of band. No writes."""
    node = _node(node_id)
    return _render("preview", **_context(_preview(node)))


def _dialog_again(error, node_id):
    """The dialog's body as sent: the preview's own errors or the apply's message (422), or what changed
    meanwhile (409)."""
    context = _context(_preview(_node(node_id)))
    if isinstance(error, Conflict):
        shares = {line.title: line.share for line in context["preview"].lines}
        for name, facts in error.changed_fields.items():  # "Planning · allocated budget": what you would give it
            title = name.split(" · ")[0]
            if name.endswith("allocated budget") and facts.get("yours") is None and shares.get(title) is not None:
                facts["yours"] = format_pesos(shares[title])
        return _render("body", 409, **dict(context, conflict=error))
    return _render("body", 422, **dict(context, failure=None if context["preview"].errors else error.detail))


@bp.post("/work-items/<int:node_id>/distribute")
@writes(on_error=_dialog_again, catch=(ValidationFailed, Conflict))
def apply(node_id):
    """Apply: the service checks scope and permission on the node it reads inside the tree lock (no load of
    its own). The answer is built from what the apply read (no re-query but the changed rows' cells), inside
    the transaction (committed once it is rendered)."""
    method = _method()
    applied = services.apply(node_id, method, _inputs(method), current_user, _versions(),
                             request.form.get("amount"), _rescale(), _versions("rv-"))
    node, record = applied.node, applied.record
    message = f"Distributed {format_pesos(record.amount)} over the items under “{node.title}” (#{record.id})."
    if not is_htmx():
        return redirect(_back_url(node, _origin()), code=303)
    if _origin() == "budget":
        body = _budget_oob(_PpaFacts(node.ppa_id, node.ppa_root, node.ppa_policy, node.ppa_moa))
    else:
        body = _tree_cells(applied)
    response = make_response(body)
    response.headers["HX-Reswap"] = "none"
    return _closing(response, message, "distribute-dialog")


@dataclass(frozen=True)
class _PpaFacts:
    """What the Budget tab's parts need of the PPA (read with the node's family inside the apply's lock)."""

    __scope_column__ = "implementing_moa_id"

    id: int
    execution_project_id: int | None
    budget_distribution_policy: str
    implementing_moa_id: int | None


def _closing(response, message, dialog_id):
    """Show a toast, tell the page the tree changed (obcms:tree-changed: a PPA header reloads) and, once the
    swaps are done (the dialog holds the element that asked), close the dialog (the obcms:close-dialog event,
    static/js/app.js)."""
    trigger(response, TREE_CHANGED)
    toast(response, message)
    response.headers["HX-Trigger-After-Settle"] = json.dumps({"obcms:close-dialog": {"id": dialog_id}})
    return response


def _open_ids():
    """The tree's open nodes, from the ?open= of the page the request comes from."""
    query = urlsplit(request.headers.get("HX-Current-URL", "")).query
    return outline.parse_open(",".join(parse_qs(query).get("open", [])))


def _tree_cells(applied):
    """Out of band, in the tree view's ids: the roll-up cells of the node and its ancestors, those of the items
    it changed below (its children, and the items a rescale changed) that the page shows (their parent is
    the root or open in the page), and the tree's stat cards. One query."""
    node = applied.node
    rescaled = {int(i) for amounts in (applied.record.inputs or {}).get("rescaled", {}).values() for i in amounts}
    below = set(applied.children) | rescaled
    shown = _open_ids() | {node.tree_id}
    rows = outline.rows_by_id(set(applied.lineage) | below)
    oob = [rows[i] for i in sorted(rows) if i not in below or rows[i].parent_id in shown]
    return render_template("workitems/_rows.html", rows=[], may_edit=False, may_delete=False, oob_rows=oob,
                           roots=[r for r in rows.values() if r.parent_id is None])


# ------------------------------------------------------------------------------------------------- Budget tab
def budget_tab_context(ppa):
    """What the PPA's Budget tab shows besides the PPA's own figures: the allocation tree (one query) and the
    distribution history (two queries)."""
    nodes = rollup.allocation_tree(ppa.execution_project_id) if ppa.execution_project_id else []
    return dict(allocation=nodes, containers={n["parent_id"] for n in nodes if n["parent_id"] is not None},
                history=services.distribution_history(ppa, tree_nodes=nodes),
                may_distribute=can(current_user, "budget.distribute", ppa))


def _stages_context(ppa):
    """The Budget tab's stages table (one query): every node's allocated, obligated, disbursed, balance and
    utilization, and whether the user may record entries on this PPA's items."""
    tracked = bool(ppa.execution_project_id) and ppa.workitem_tracking_enabled
    return dict(stages=ledger.stages(ppa.execution_project_id) if ppa.execution_project_id else [],
                may_record=tracked and can(current_user, "budget.record", ppa))


def _budget_tab(ppa):
    return {**budget_tab_context(ppa), **_stages_context(ppa)}


TAB_CONTEXTS["budget"] = _budget_tab


def _budget_oob(ppa):
    return render_template("budget/_budget_oob.html", ppa=ppa, **budget_tab_context(ppa))


# ------------------------------------------------------------------------------------------------- restore
def _restore_context(distribution_id, undo, error=None):
    record, ppa = _distribution(distribution_id)
    entry = next((e for e in services.distribution_history(ppa) if e.distribution.id == record.id), None)
    if entry is None:
        raise NotFound(f"There is no distribution #{distribution_id} in this PPA's history.")
    return dict(entry=entry, ppa=ppa, error=error, modal=is_htmx(), undo=undo)


@bp.get("/distributions/<int:distribution_id>/restore", defaults={"undo": False})
@bp.get("/distributions/<int:distribution_id>/undo", defaults={"undo": True}, endpoint="confirm_undo")
def confirm_restore(distribution_id, undo):
    context = _restore_context(distribution_id, undo)
    if is_htmx():
        return render_block("budget/restore.html", "dialog", **context)
    return render_template("budget/restore.html", **context)


def _restore_refused(error, distribution_id, undo):
    context = _restore_context(distribution_id, undo, error)
    if is_htmx():
        return render_block("budget/restore.html", "body", **context), error.status
    return render_template("budget/restore.html", **context), error.status


@bp.post("/distributions/<int:distribution_id>/restore", defaults={"undo": False})
@bp.post("/distributions/<int:distribution_id>/undo", defaults={"undo": True}, endpoint="undo")
@writes(on_error=_restore_refused, catch=(ValidationFailed, Conflict))
def restore(distribution_id, undo):
    """Restore a distribution's result, or undo it (bring back its Before values); either is a new record."""
    record, ppa = _distribution(distribution_id)
    new = services.restore_distribution(record, current_user, undo=undo)
    if not is_htmx():
        return redirect(url_for("ppas.detail", ppa_id=ppa.id, tab="budget"), code=303)
    ppa = _scoped_ppa(ppa.id)
    response = make_response(_budget_oob(ppa))
    response.headers["HX-Reswap"] = "none"
    done = f"Distribution #{record.id} undone (#{new.id})." if undo else \
        f"Distribution #{record.id} restored as #{new.id}."
    return _closing(response, done, "restore-dialog")


# ------------------------------------------------------------------------------------------------- ledger
LEDGER_PAGE = "budget/ledger.html"


def _ledger_node(node_id, permission="workitem.read"):
    return load_in_scope(WorkItem, node_id, current_user, permission, "work item")


def _ledger_context(node, form=None, reverse_form=None, conflict=None, reversing=None, page=1):
    """The ledger of `node`: its stages, the record form, one page of entries (three queries after the node)."""
    ppa = db.session.get(Ppa, node.ppa_id) if node.ppa_id is not None else None
    if form is None:
        kind = request.args.get("kind")
        form = EntryForm(formdata=None, kind=kind if kind in ledger.KIND_LABELS else "obligation",
                         entry_date=local_today().isoformat())
    stage = ledger.Stage(node.id, node.parent_id, node.title, node.work_type, 0, node.allocated_budget,
                         node.obligated, node.disbursed)
    tracked = ppa is not None and ppa.workitem_tracking_enabled
    return dict(node=node, ppa=ppa, stage=stage, entries=ledger.ledger_page(node, page), form=form,
                reverse_form=reverse_form or ReverseForm(formdata=None), conflict=conflict, reversing=reversing,
                may_record=tracked and can(current_user, "budget.record", node), modal=is_htmx(),
                kind_labels=ledger.KIND_LABELS)


def _ledger_render(block, status=200, **context):
    if is_htmx():
        return render_block(LEDGER_PAGE, block, **context), status
    return render_template(LEDGER_PAGE, **context), status


def _ledger_done(node, message):
    """After a posting: the ledger's body again, and the Budget tab's stages table out of band."""
    ppa = db.session.get(Ppa, node.ppa_id)
    body = render_block(LEDGER_PAGE, "body", **_ledger_context(node))
    stages = render_template("budget/_stages.html", ppa=ppa, oob=True, **_stages_context(ppa))
    response = make_response(body + stages)
    trigger(response, TREE_CHANGED)
    return toast(response, message)


@bp.get("/work-items/<int:node_id>/ledger")
def node_ledger(node_id):
    node = _ledger_node(node_id)
    block = "body" if request.headers.get("HX-Target") == "ledger-body" else "dialog"
    return _ledger_render(block, **_ledger_context(node, page=parse_id(request.args.get("page")) or 1))


def _entry_again(error, node_id):
    form = EntryForm()
    form.show_failure(error)
    return _ledger_render("body", 422, **_ledger_context(_ledger_node(node_id), form=form))


@bp.post("/work-items/<int:node_id>/ledger")
@writes(on_error=_entry_again)
def record_entry(node_id):
    node = _ledger_node(node_id, "budget.record")
    form = EntryForm()
    entry = ledger.record_entry(node, current_user, form.kind.data, form.amount.data, form.entry_date.data,
                                form.reference.data, form.payee.data, reason=form.reason.data,
                                override=form.override.data)
    if not is_htmx():
        return redirect(url_for(".node_ledger", node_id=node_id), code=303)
    flag = " (beyond the allocation)" if entry.over_allocation else ""
    return _ledger_done(node, f"{ledger.KIND_LABELS[entry.kind]} of {format_pesos(entry.amount)} recorded on "
                              f"“{node.title}”{flag}.")


def _reverse_again(error, entry_id):
    entry = ledger.get_entry(entry_id, current_user)
    form = ReverseForm()
    if isinstance(error, ValidationFailed):
        form.show_failure(error)
    return _ledger_render("body", error.status, **_ledger_context(
        _ledger_node(entry.work_item_id), reverse_form=form, reversing=entry.id,
        conflict=error if isinstance(error, Conflict) else None))


@bp.post("/entries/<int:entry_id>/reverse")
@writes(on_error=_reverse_again, catch=(ValidationFailed, Conflict))
def reverse_entry(entry_id):
    entry = ledger.get_entry(entry_id, current_user)
    reversal = ledger.reverse_entry(entry, current_user, ReverseForm().reason.data)
    node = _ledger_node(entry.work_item_id)
    if not is_htmx():
        return redirect(url_for(".node_ledger", node_id=node.id), code=303)
    return _ledger_done(node, f"Entry #{entry.id} reversed by #{reversal.id} on “{node.title}”.")


# ------------------------------------------------------------------------------------------------- import
IMPORT_PAGE = "budget/import.html"


def _import_ppa(ppa_id):
    ppa = _scoped_ppa(ppa_id, "budget.record")
    if not ppa.workitem_tracking_enabled:
        raise NotFound("Entries are imported into a PPA with WorkItem tracking enabled.")
    return ppa


@bp.get("/ppas/<int:ppa_id>/import")
def import_form(ppa_id):
    return render_template(IMPORT_PAGE, ppa=_import_ppa(ppa_id), outcome=None, rows_json="", error=None)


@bp.get("/ppas/<int:ppa_id>/import/template.csv")
def import_template(ppa_id):
    ppa = _import_ppa(ppa_id)
    response = make_response(importing.template_csv())
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="ledger-entries-{ppa.display_code}.csv"'
    return response


def _import_again(error, ppa_id):
    ppa = _import_ppa(ppa_id)
    message = (getattr(error, "errors", None) or {}).get("file", [error.detail])[0]
    return render_template(IMPORT_PAGE, ppa=ppa, outcome=None, rows_json="", error=message), 422


@bp.post("/ppas/<int:ppa_id>/import")
@writes(on_error=_import_again)
def import_entries(ppa_id):
    """"check" reads the chosen file and shows every row's result, writing nothing; "import" writes the rows the
    check showed (carried in the page, and checked again), all or nothing."""
    ppa = _import_ppa(ppa_id)
    carried = request.form.get("rows")
    if carried:
        rows = _carried_rows(carried)
    else:
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise ValidationFailed("Choose the file to import.", errors={"file": ["Choose the file to import."]})
        rows = importing.read_rows(upload.filename, upload.stream)
    apply = request.form.get("action") == "import"
    outcome = importing.import_entries(ppa, current_user, rows, apply=apply)
    status = 422 if apply and not outcome.applied else 200
    return render_template(IMPORT_PAGE, ppa=ppa, outcome=outcome, error=None,
                           rows_json="" if outcome.applied else json.dumps(rows)), status


def _carried_rows(carried):
    """The rows a check put in its page: [[number, {column: text}], …], taken as text only."""
    try:
        rows = json.loads(carried)
        rows = [(int(number), {str(k): str(v) for k, v in values.items() if k in importing.COLUMNS})
                for number, values in rows][:importing.MAX_ROWS]
    except (ValueError, TypeError, AttributeError):
        raise ValidationFailed("Choose the file again.", errors={"file": ["Choose the file again."]}) from None
    if not rows:
        raise ValidationFailed("Choose the file again.", errors={"file": ["Choose the file again."]})
    return rows
