"""The reports in a real browser: an MOA staff member generates the COA report from its card and downloads a
workbook holding only their MOA's PPAs; with a low REPORTS_DIRECT_LIMIT the same request becomes a job whose row
under My reports ends with a download link, and the file downloads."""
import openpyxl
import sqlalchemy as sa
from playwright.sync_api import expect

from obcms.auth.models import Organization
from obcms.extensions import db
from obcms.ppas.models import Ppa


def _generate_coa(page, year="2026"):
    page.goto("/reports")
    card = page.get_by_role("region", name="COA Budget Variance")
    card.get_by_label("Fiscal year").fill(year)
    with page.expect_download() as download:
        card.get_by_role("button", name="Generate").click()
    return download.value


def mssd_codes_of_2026(live_server):
    with live_server.app.app_context():
        ppas = db.session.scalars(sa.select(Ppa).join(Organization, Organization.id == Ppa.implementing_moa_id)
                                  .where(Organization.acronym == "MSSD", Ppa.fiscal_year == 2026)).all()
        return sorted(p.display_code for p in ppas)


def test_an_moa_user_downloads_the_coa_report(signed_in_page, live_server, tmp_path):
    page = signed_in_page("moa")
    nav = page.get_by_role("navigation", name="Main")
    nav.locator(".nav-more summary").click()  # Reports sits under More
    nav.get_by_role("link", name="Reports").click()
    expect(page.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
    download = _generate_coa(page)
    assert download.suggested_filename.startswith("coa-budget-variance-FY2026-")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Budget Variance", "Activity Breakdown", "Audit Trail"]
    codes = [row[0] for row in book["Budget Variance"].iter_rows(min_row=8, values_only=True) if row[0]]
    assert codes and codes[-1] == "TOTAL"
    assert sorted(codes[:-1]) == mssd_codes_of_2026(live_server)  # MSSD's only (other tests may add some)


def test_a_large_report_is_made_in_the_background(signed_in_page, live_server, tmp_path, monkeypatch):
    monkeypatch.setitem(live_server.app.config, "REPORTS_DIRECT_LIMIT", 0)
    monkeypatch.setitem(live_server.app.config, "REPORTS_DIR", str(tmp_path / "kept"))
    page = signed_in_page("mfbm")
    page.goto("/reports")
    card = page.get_by_role("region", name="MFBM Budget Execution")
    card.get_by_label("Fiscal year").fill("2026")
    card.get_by_role("button", name="Generate").click()
    link = page.get_by_role("region", name="My reports").get_by_role("link", name="mfbm-budget-execution-FY2026-")
    expect(link).to_be_visible()
    with page.expect_download() as download:
        link.click()
    download.value.save_as(tmp_path / "kept.xlsx")
    assert openpyxl.load_workbook(tmp_path / "kept.xlsx").sheetnames == ["Budget Execution Report"]
