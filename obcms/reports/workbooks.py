"""The three oversight workbooks, exactly per DOMAIN.md "Reports (Excel)": columns, rules and remarks.

    counts = write_report(filters, user, as_of, target, timezone="Asia/Manila", progress=None)

Percentages are computed in Decimal from the Decimal amounts and rounded half up to 2 decimals; every rule
compares that rounded value (what the sheet shows): a variance of exactly 20.00 % is not "> 20". A rate whose
divisor is zero or missing is left empty and no rule reads it. Multiple remarks (or audit findings) are joined
with "; ". PPA-level obligations and disbursements are the funding tranches'; per-node figures come from
queries.node_obligations / node_disbursements.

Queries per report: MFBM 1, BPDA 1, COA 3 (plus one for the MOA filter's name when a MOA is chosen).
"""
from collections import Counter
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from ..auth.models import ORGANIZATION_SCOPED_ROLES
from ..money import CENT
from ..ppas.models import SECTORS, label
from . import queries
from .xlsx import Book, Column, money, number, percent, score, text, timestamp

ZERO = Decimal("0.00")
REPORT_NAMES = {
    "mfbm_budget_execution": "MFBM Budget Execution",
    "bpda_development_alignment": "BPDA Development Alignment",
    "coa_budget_variance": "COA Budget Variance",
}
REPORT_RULES = {
    "mfbm_budget_execution": "MOA PPAs only",
    "bpda_development_alignment": "PPAs with a sector, all categories",
    "coa_budget_variance": "all categories",
}
PROGRESS_EVERY = 100  # rows between two progress reports
APPROVED = ("approved", "enacted")


def rate(part, whole):
    """part × 100 ÷ whole rounded half up to 2 decimals, None when whole is zero or missing."""
    if part is None or not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(CENT, rounding=ROUND_HALF_UP)


# --------------------------------------------------------------------------------------------- the rules
def _outside(value, low, below_text, high, above_text):
    """below_text when value < low, above_text when value > high, else None (and None without a value)."""
    if value is None:
        return None
    if value < low:
        return below_text
    return above_text if value > high else None


def mfbm_remarks(variance_pct, utilization, approval_status):
    remarks = [_outside(variance_pct, -5, "Over budget", 20, "High underspending"),
               _outside(utilization, 50, "Low utilization", 95, "Near full utilization")]
    remarks = [remark for remark in remarks if remark]
    if approval_status not in APPROVED:
        remarks.append(f"Status: {label(approval_status)}")
    return "; ".join(remarks) or "On track"


def bdp_alignment_score(has_indicators, supports_sdg, moral_governance_pillar, obc_slots, total_slots, has_policy):
    """25 (outcome indicators) + 15 (SDG) + 20 (moral governance pillar) + 20 × min(1, OBC ÷ total slots)
    + 20 (linked to a policy), rounded half up to 2 decimals."""
    points = Decimal(0)
    points += 25 if has_indicators else 0
    points += 15 if supports_sdg else 0
    points += 20 if (moral_governance_pillar or "").strip() else 0
    if total_slots:
        points += 20 * min(Decimal(1), Decimal(obc_slots or 0) / Decimal(total_slots))
    points += 20 if has_policy else 0
    return points.quantize(CENT, rounding=ROUND_HALF_UP)


def bpda_remarks(alignment_score, benefits_indigenous_peoples, supports_peace_agenda):
    if alignment_score >= 80:
        remarks = ["Strong BDP alignment"]
    elif alignment_score >= 60:
        remarks = ["Good alignment"]
    elif alignment_score >= 40:
        remarks = ["Moderate alignment"]
    else:
        remarks = ["Needs alignment review"]
    if benefits_indigenous_peoples:
        remarks.append("IP focus")
    if supports_peace_agenda:
        remarks.append("Peace building")
    return "; ".join(remarks)


def coa_findings(variance_pct, allocations, budget, obligation_rate, approval_status):
    """`allocations`: the net allocations of the funding tranches; `budget`: the PPA's budget allocation."""
    findings = []
    budget = budget or ZERO
    if variance_pct is not None and abs(variance_pct) > 20:
        findings.append("MATERIAL VARIANCE")
    if allocations > budget:
        findings.append("BUDGET OVERRUN")
    findings.append(_outside(obligation_rate, 75, "LOW OBLIGATION RATE", 100, "OVER-OBLIGATION"))
    findings = [finding for finding in findings if finding]
    if approval_status not in APPROVED:
        findings.append(f"PENDING {label(approval_status).upper()}")
    if abs(allocations - budget) > 1000:
        findings.append("ALLOCATION DISCREPANCY")
    return "; ".join(findings) or "NO FINDINGS"


def outcome_indicators(outcome_framework):
    """The first 3 outcome indicators, or "N/A". Until indicators are records of their own, the outcomes of
    the PPA's outcome framework are its indicators."""
    titles = [str(o.get("title", "")).strip() for o in (outcome_framework or []) if isinstance(o, dict)]
    titles = [t for t in titles if t]
    return "; ".join(titles[:3]) if titles else "N/A"


def obc_communities(row):
    """The OBC communities a PPA serves. obcms records no communities yet (no register, no links): "N/A"."""
    return "N/A"


def display_code(row):
    return row.code or f"PPA-{row.id}"


# --------------------------------------------------------------------------------------------- the sheets
MFBM_COLUMNS = (
    Column("PPA Code", 16), Column("PPA Title", 40), Column("Implementing MOA", 14),
    Column("Appropriation Class", 14), Column("Allocated Budget (₱)", 18, "money"),
    Column("Total Obligations (₱)", 18, "money"), Column("Total Disbursements (₱)", 18, "money"),
    Column("Variance (₱)", 18, "money"), Column("Variance (%)", 12, "percent"),
    Column("Utilization Rate (%)", 12, "percent"), Column("Status", 12), Column("WorkItem Expenditure (₱)", 18, "money"),
    Column("Remarks", 44),
)
BPDA_COLUMNS = (
    Column("PPA Code", 16), Column("PPA Title", 40), Column("Sector", 18), Column("BDP Alignment Score", 12, "score"),
    Column("Outcome Indicators", 40), Column("Beneficiaries", 14), Column("OBC Communities", 18), Column("Status", 12),
    Column("Progress (%)", 12, "percent"), Column("SDG Contribution", 10), Column("Moral Governance Pillar", 24),
    Column("Remarks", 40),
)
COA_COLUMNS = (
    Column("PPA Code", 16), Column("PPA Title", 40), Column("Implementing MOA", 14),
    Column("Budget Allocation (₱)", 18, "money"), Column("Total Obligations (₱)", 18, "money"),
    Column("Total Disbursements (₱)", 18, "money"), Column("Variance (₱)", 18, "money"),
    Column("Variance (%)", 12, "percent"), Column("Obligation Rate (%)", 12, "percent"),
    Column("Disbursement Rate (%)", 12, "percent"), Column("Audit Findings", 60),
)
BREAKDOWN_COLUMNS = (
    Column("PPA Code", 16), Column("PPA Title", 40), Column("Activity/Task", 50), Column("Activity Type", 14),
    Column("Allocated Budget (₱)", 18, "money"), Column("Obligations (₱)", 18, "money"),
    Column("Actual Expenditure (₱)", 18, "money"), Column("Variance (₱)", 18, "money"),
    Column("Variance (%)", 12, "percent"), Column("Status", 12),
)
AUDIT_COLUMNS = (
    Column("Timestamp", 20, "datetime"), Column("PPA Code", 16), Column("Action", 28), Column("Field Changed", 22),
    Column("Old Value", 30), Column("New Value", 30), Column("User", 20), Column("IP Address", 16),
)
NO_BREAKDOWN = "PPA Level (No Activity Breakdown)"
AUDITED_OBJECTS = {"ppa": "PPA", "work_item": "work item", "funding_tranche": "funding tranche"}


@dataclass
class Progress:
    """Calls `report(done)` every PROGRESS_EVERY rows and at the end (when given)."""

    report: object = None
    done: int = 0

    def step(self):
        self.done += 1
        if self.report is not None and self.done % PROGRESS_EVERY == 0:
            self.report(self.done)

    def finish(self):
        if self.report is not None:
            self.report(self.done)


def title_block(filters, user, as_of, timezone):
    local = as_of.astimezone(ZoneInfo(timezone))
    chosen = []
    if filters.moa_id is not None:
        chosen.append(f"MOA: {queries.organization_label(filters.moa_id)}")
    if filters.sector is not None:
        chosen.append(f"Sector: {label(filters.sector)}")
    described = "; ".join(chosen) or "none"
    described += f" ({REPORT_RULES[filters.kind]}"
    if user.role in ORGANIZATION_SCOPED_ROLES and user.organization is not None:
        described += f"; only the PPAs of {user.organization.acronym}, your organization"
    described += ")"
    return [(REPORT_NAMES[filters.kind], None),
            ("Fiscal year", filters.fiscal_year),
            ("Filters", described),
            ("As of", f"{local.day} {local:%b %Y %H:%M} {timezone} (UTC{local:%z})"),
            ("Generated by", f"{user.display_name} ({user.role_label})")]


def write_mfbm(book, filters, user, block, progress, zone):
    sheet = book.sheet("Budget Execution Report", MFBM_COLUMNS, block)
    totals = Counter()
    for row in queries.stream(queries.mfbm_statement(filters, user)):
        allocated = row.budget_allocation or ZERO
        variance = allocated - row.disbursements
        variance_pct = rate(variance, allocated)
        utilization = rate(row.disbursements, allocated)
        sheet.row([text(display_code(row)), text(row.title), text(row.moa or "—"),
                   text((row.appropriation_class or "—").upper()), money(allocated), money(row.obligations),
                   money(row.disbursements), money(variance), percent(variance_pct), percent(utilization),
                   text(label(row.status)), money(row.tree_expenditure),
                   text(mfbm_remarks(variance_pct, utilization, row.approval_status))])
        totals.update({4: allocated, 5: row.obligations, 6: row.disbursements, 7: variance,
                       11: row.tree_expenditure or ZERO})
        progress.step()
    sheet.total_row("TOTAL", {i: totals[i] or ZERO for i in (4, 5, 6, 7, 11)})
    return {"ppas": sheet.last_data_row - sheet.header_row}


def write_bpda(book, filters, user, block, progress, zone):
    sheet = book.sheet("Development Alignment", BPDA_COLUMNS, block)
    per_sector, sdg_per_sector = Counter(), Counter()
    for row in queries.stream(queries.bpda_statement(filters, user)):
        indicators = outcome_indicators(row.outcome_framework)
        points = bdp_alignment_score(indicators != "N/A", row.supports_sdg, row.moral_governance_pillar,
                                     row.obc_slots, row.total_slots, row.has_policy)
        beneficiaries = f"{row.obc_slots or 0}/{row.total_slots}" if row.total_slots is not None else "N/A"
        sheet.row([text(display_code(row)), text(row.title), text(label(row.sector)), score(points),
                   text(indicators), text(beneficiaries), text(obc_communities(row)), text(label(row.status)),
                   percent(row.progress), text("Yes" if row.supports_sdg else "No"),
                   text(row.moral_governance_pillar or "—"),
                   text(bpda_remarks(points, row.benefits_indigenous_peoples, row.supports_peace_agenda))])
        per_sector[row.sector] += 1
        sdg_per_sector[row.sector] += 1 if row.supports_sdg else 0
        progress.step()
    sheet.blank()
    sheet.plain_row([text("Summary", bold=True)])
    sheet.plain_row([text("Sector", bold=True), text("PPAs", bold=True), text("SDG-contributing", bold=True)])
    for sector in SECTORS:
        if per_sector[sector]:
            sheet.plain_row([text(label(sector)), number(per_sector[sector]), number(sdg_per_sector[sector])])
    sheet.plain_row([text("Total", bold=True), number(sum(per_sector.values()), bold=True),
                     number(sum(sdg_per_sector.values()), bold=True)])
    return {"ppas": sum(per_sector.values())}


def write_coa(book, filters, user, block, progress, zone):
    variance_sheet = book.sheet("Budget Variance", COA_COLUMNS, block)
    totals = Counter()
    ppas = 0
    for row in queries.stream(queries.coa_variance_statement(filters, user)):
        budget = row.budget_allocation or ZERO
        variance = budget - row.disbursements
        variance_pct = rate(variance, budget)
        obligation_rate = rate(row.obligations, row.net_allocations)
        variance_sheet.row([
            text(display_code(row)), text(row.title), text(row.moa or "—"), money(budget), money(row.obligations),
            money(row.disbursements), money(variance), percent(variance_pct), percent(obligation_rate),
            percent(rate(row.disbursements, row.obligations)),
            text(coa_findings(variance_pct, row.net_allocations, budget, obligation_rate, row.approval_status))])
        totals.update({3: budget, 4: row.obligations, 5: row.disbursements, 6: variance})
        ppas += 1
        progress.step()
    variance_sheet.total_row("TOTAL", {i: totals[i] or ZERO for i in (3, 4, 5, 6)})

    breakdown = book.sheet("Activity Breakdown", BREAKDOWN_COLUMNS, block)
    nodes, ppa_cells, labels = 0, (None, None), {}  # a PPA's code and title cells serve all its nodes' rows

    def labelled(value):
        if value not in labels:
            labels[value] = text(label(value))
        return labels[value]

    for row in queries.stream(queries.coa_breakdown_statement(filters, user)):
        if ppa_cells[0] != row.id:
            ppa_cells = (row.id, [text(display_code(row)), text(row.title)])
        if row.node_id is None:
            allocated, obligated, spent = row.budget_allocation or ZERO, row.ppa_obligations, row.ppa_disbursements
            breakdown.row([text(display_code(row)), text(row.title), text(NO_BREAKDOWN), text("PPA"),
                           money(allocated), money(obligated), money(spent), money(allocated - spent),
                           percent(rate(allocated - spent, allocated)), text("—")])
            progress.step()
            continue
        allocated, spent = row.allocated_budget, row.disbursements
        breakdown.row([*ppa_cells[1], text(row.node_title, indent=row.depth),
                       labelled(row.work_type), money(allocated), money(row.obligations), money(spent),
                       money(allocated - spent), percent(rate(allocated - spent, allocated)),
                       labelled(row.status)])
        nodes += 1
        if row.depth == 0:
            progress.step()

    trail = book.sheet("Audit Trail", AUDIT_COLUMNS, block)
    entries = 0
    for row in queries.stream(queries.coa_audit_statement(filters, user)):
        what = AUDITED_OBJECTS.get(row.object_type, row.object_type)
        trail.row([_local(row.at, zone), text(row.ppa_code or f"PPA-{row.ppa_id}"),
                   text(f"{row.action.capitalize()} {what} #{row.object_id}"), text(row.field or "—"),
                   text(row.old_value), text(row.new_value), text(row.actor_label), text(row.ip or "—")])
        entries += 1
    if entries >= queries.AUDIT_TRAIL_LIMIT:
        trail.plain_row([text(f"Only the newest {queries.AUDIT_TRAIL_LIMIT:,} entries are listed: see the audit log "
                              "for the rest.")])
    return {"ppas": ppas, "nodes": nodes, "audit_entries": entries}


def _local(moment, zone):
    """An audit time as the local wall-clock time of the report's zone (Excel cells carry no zone)."""
    return timestamp(moment.astimezone(zone).replace(tzinfo=None, microsecond=0))


WRITERS = {"mfbm_budget_execution": write_mfbm, "bpda_development_alignment": write_bpda,
           "coa_budget_variance": write_coa}
SHEETS_PER_PPA = {"mfbm_budget_execution": 1, "bpda_development_alignment": 1, "coa_budget_variance": 2}


def write_report(filters, user, as_of, target, timezone="Asia/Manila", progress=None):
    """Write the workbook of `filters` (a queries.ReportFilters) as `user` sees it, "as of" `as_of` (aware), to
    `target` (a path or a seekable binary file). `progress(rows_done)` is called now and then. Returns counts."""
    book = Book(as_of, timezone)
    tracker = Progress(progress)
    counts = WRITERS[filters.kind](book, filters, user, title_block(filters, user, as_of, timezone), tracker,
                                   ZoneInfo(timezone))
    book.save(target)
    tracker.finish()
    return counts
