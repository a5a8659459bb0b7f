"""The whole PPA story in a real browser (issue 5, "Done means"): an MSSD staff member creates a PPA through the
form, enables tracking with the `program` template after seeing its preview, distributes budgets by weight
(a mistake first: inline error, Apply disabled; then a fix: the rows change in place), completes work items
through the tree's status actions and watches the PPA's progress move, submits it, and the right roles take
it through review to enactment — the wrong ones see disabled actions that say why."""
import re
from datetime import date

from playwright.sync_api import expect

TITLE = "Community kitchens for OBC families (story)"
CODE = "MSSD-2026-777"


def _create_ppa(page, title=TITLE, code=CODE):
    """Fill and send the New PPA form as MSSD staff (tests/e2e/test_task_story.py makes its own PPA with it)."""
    page.goto("/ppas")
    page.get_by_role("link", name="New PPA").click()
    expect(page.get_by_role("heading", name="New PPA")).to_be_visible()
    # An MSSD staff member's new PPA is an MOA PPA of MSSD already.
    expect(page.locator("#category")).to_have_value("moa_ppa")
    page.locator("#title").fill(title)
    page.locator("#code").fill(code)
    page.locator("#sector").select_option("social")
    page.locator("#lead_organization_id").select_option(label="MSSD · Ministry of Social Services and Development")
    page.locator("#summary").fill("Kitchens run by OBC women's associations, with nutrition training.")
    page.locator("#budget_ceiling").fill("1200000")
    page.locator("#budget_allocation").fill("1000000")
    page.locator("#appropriation_class").select_option("mooe")
    page.locator("#funding_source").select_option("gaab")
    year = date.today().year
    page.locator("#start_date").fill(f"{year}-01-01")
    page.locator("#target_end_date").fill(f"{year}-12-31")
    page.locator("#outcome_framework").fill("Families eat better\n- 20 kitchens running\n- 400 cooks trained")
    page.get_by_role("button", name="Create PPA").click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    expect(page.locator(".ppa-header")).to_contain_text(code)
    return page.url


def _enable_tracking(page):
    page.get_by_role("tab", name="Work Items").click()
    expect(page.get_by_role("heading", name="Enable WorkItem tracking")).to_be_visible()
    _settled(page.locator("#ppa-tab"))
    template = page.get_by_label("Structure template")
    template.select_option("minimal")
    expect(page.locator("#tracking-preview")).to_contain_text("Preview: 2 work items")
    template.select_option("program")
    preview = page.locator("#tracking-preview")
    expect(preview).to_contain_text("Preview: 13 work items")
    expect(preview).to_contain_text("Phase 2: Service Delivery")
    expect(preview.locator("tr", has_text="Implementation")).to_contain_text("₱ 600,000.00")
    page.get_by_label("Budget distribution policy").select_option("weighted")
    page.get_by_role("button", name="Generate 13 work items and enable tracking").click()
    expect(page.locator("#toasts")).to_contain_text("Tracking enabled: 13 work items generated.")
    expect(page.get_by_role("heading", name="Execution project")).to_be_visible()


def _row(page, title):
    return page.locator("tr.wi-row", has=page.locator("a.wi-title", has_text=re.compile(rf"^{re.escape(title)}$")))


def _switch(dialog, method):
    """Switch the modal's method and wait until htmx has wired the new form (its live preview)."""
    dialog.get_by_role("link", name=method).click()
    expect(dialog.get_by_role("link", name=method)).to_have_attribute("aria-current", "true")
    _settled(dialog.locator("#distribute-body"))


def _settled(target):
    """Wait until htmx has settled a swap into `target` (new content is wired only then; a user is slower)."""
    expect(target).not_to_have_class(re.compile("htmx-(swapping|settling)"))


def _distribute(page):
    # On the execution project: every sub-project's budget is given to its activities already, so weights
    # that take from one of them are refused by name — first a sum that is not 100.
    page.get_by_role("link", name="Distribute budget").first.click()
    dialog = page.locator("dialog#distribute-dialog")
    expect(dialog).to_be_visible()
    _switch(dialog, "Weighted")
    expect(dialog.get_by_label("Weight for Implementation")).to_have_value("60.00")
    dialog.get_by_label("Weight for Planning & Design").fill("30")
    expect(dialog.locator("#distribute-foot")).to_contain_text("The weights add up to 110.00 %")
    expect(dialog.get_by_role("button", name="Apply")).to_be_disabled()
    dialog.get_by_label("Weight for Implementation").fill("50")
    expect(dialog.locator("#distribute-rows")).to_contain_text(
        "The children of 'Implementation' would be allocated ₱ 600,000.00, ₱ 100,000.00 more than its ₱ 500,000.00.")
    expect(dialog.get_by_role("button", name="Apply")).to_be_disabled()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)

    # On Implementation (its phases are leaves): a mistake, then a fix, applied in place.
    implementation = _row(page, "Implementation")
    implementation.locator(".wi-expander").click()
    expect(_row(page, "Phase 1: Launch & Mobilization")).to_be_visible()
    implementation.get_by_label("Actions for Implementation").click()
    implementation.get_by_role("link", name="Distribute budget…").click()
    dialog = page.locator("dialog#distribute-dialog")
    expect(dialog).to_be_visible()
    _switch(dialog, "Weighted")
    dialog.get_by_label("Weight for Phase 1: Launch & Mobilization").fill("40")
    dialog.get_by_label("Weight for Phase 2: Service Delivery").fill("40")
    dialog.get_by_label("Weight for Phase 3: Consolidation").fill("30")
    expect(dialog.locator("#distribute-foot")).to_contain_text("(10.00 % too much)")
    expect(dialog.get_by_role("button", name="Apply")).to_be_disabled()
    dialog.get_by_label("Weight for Phase 3: Consolidation").fill("20")
    expect(dialog.get_by_role("button", name="Apply")).to_be_enabled()
    with page.expect_response(re.compile(r"/ppas/\d+/header$")):  # the header reloads on obcms:tree-changed
        dialog.get_by_role("button", name="Apply").click()
    expect(dialog).to_have_count(0)
    expect(_row(page, "Phase 1: Launch & Mobilization").locator("td[id$='-allocated']")).to_have_text("₱ 240,000.00")
    expect(_row(page, "Phase 3: Consolidation").locator("td[id$='-allocated']")).to_have_text("₱ 120,000.00")
    expect(implementation.locator("td[id$='-unallocated']")).to_have_text("₱ 0.00")


def _complete(page, title):
    page.locator("a.wi-title", has_text=re.compile(rf"^{re.escape(title)}$")).click()
    panel = page.locator("#wi-panel")
    expect(panel.get_by_role("heading", name=title)).to_be_visible()
    panel.get_by_role("button", name="Complete").click()
    expect(_row(page, title).locator("td[id$='-status']")).to_have_text("completed")


def _header_progress(page):
    return page.locator("#ppa-figures .stat-card", has_text="Progress")


def _approval(page, url):
    page.goto(url + "/approval")
    expect(page.get_by_role("heading", name="Approval")).to_be_visible()
    return page


def _step(page):
    return page.locator(".stepper [aria-current=step]")


def _act(page, label, then):
    page.get_by_role("button", name=label).click()
    expect(_step(page)).to_have_text(then)


def test_the_whole_ppa_story(signed_in_page):
    moa = signed_in_page("moa")
    script_errors = []
    moa.on("pageerror", lambda error: script_errors.append(str(error)))
    url = _create_ppa(moa)
    expect(_header_progress(moa)).to_contain_text("0 %")

    _enable_tracking(moa)
    _distribute(moa)
    expand = _row(moa, "Planning & Design").locator(".wi-expander")
    expand.click()
    expect(_row(moa, "Needs Assessment & Feasibility Study")).to_be_visible()

    # Phase 1 is 240,000 of Implementation's 600,000: 40 % of it; the project: 24 % (by budget).
    _complete(moa, "Phase 1: Launch & Mobilization")
    expect(_row(moa, "Implementation").locator("td[id$='-progress']")).to_contain_text("40 %")
    expect(moa.locator(f"#wi-{_root_id(moa)}-progress")).to_contain_text("24 %")
    expect(_header_progress(moa)).to_contain_text("24 %")  # the page header follows the transition in place
    # Needs Assessment is half of Planning & Design (200,000): the project moves to 34 %.
    _complete(moa, "Needs Assessment & Feasibility Study")
    expect(moa.locator(f"#wi-{_root_id(moa)}-progress")).to_contain_text("34 %")
    expect(moa.locator(f"#wi-stats-{_root_id(moa)}")).to_contain_text("34 %")
    expect(_header_progress(moa)).to_contain_text("34 %")
    moa.reload()
    expect(_header_progress(moa)).to_contain_text("34 %")

    # Submit for technical review; the submitter may not act on the review.
    _approval(moa, url)
    _act(moa, "Submit for technical review", "technical review")
    expect(moa.locator(".ppa-header .chips")).to_contain_text("technical review")  # the header's approval chip
    moa.reload()
    expect(moa.get_by_role("button", name="Pass technical review")).to_be_disabled()
    expect(moa.get_by_role("button", name="Reject")).to_be_disabled()
    expect(moa.locator("#why-pass_technical_review")).to_have_text(
        "Needs the role mfbm analyst. You submitted this; someone else must act on it.")

    mfbm = _approval(signed_in_page("mfbm"), url)
    _act(mfbm, "Pass technical review", "budget review")
    expect(mfbm.get_by_role("button", name="Send to executive approval")).to_be_enabled()
    _act(mfbm, "Send to stakeholder consultation", "stakeholder consultation")
    expect(mfbm.get_by_role("button", name=re.compile("^Consultation done"))).to_be_disabled()

    executive = _approval(signed_in_page("executive"), url)
    expect(executive.get_by_role("button", name=re.compile("^Consultation done"))).to_be_disabled()
    expect(executive.locator(".workflow-actions")).to_contain_text("Needs the role bpda planner.")

    bpda = _approval(signed_in_page("bpda"), url)
    _act(bpda, "Consultation done: send to executive approval", "executive approval")
    expect(bpda.get_by_role("button", name="Approve", exact=True)).to_be_disabled()

    executive.reload()
    # Approve and enact commit money: each asks first, naming the PPA and its amount.
    for label, then in (("Approve", "approved"), ("Enact", "enacted")):
        executive.get_by_role("button", name=f"{label}…").click()
        dialog = executive.get_by_role("dialog")
        expect(dialog).to_contain_text(f"{label} {CODE}")
        expect(dialog).to_contain_text("₱")
        dialog.get_by_role("button", name=re.compile(f"^{label} ")).click()
        expect(_step(executive)).to_have_text(then)
    expect(executive.locator("#toasts")).to_contain_text("enacted: its execution project has started")
    expect(executive.locator(".approval-tab")).to_contain_text("final")
    # Enacting started the execution project: the PPA is ongoing now, and its header says so in place.
    expect(executive.locator(".ppa-header .chips")).to_contain_text("ongoing")
    expect(executive.locator(".ppa-header .chips")).to_contain_text("enacted")
    executive.reload()
    expect(executive.locator(".ppa-header .chips")).to_contain_text("ongoing")
    assert script_errors == []


def _root_id(page):
    return page.locator("section.wi-tree").get_attribute("data-root")
