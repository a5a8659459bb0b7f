"""Nothing user-written reaches a page unescaped: a PPA and work items titled `<script>alert(1)</script>` and
comments with HTML render as text on every page that shows them, no page carries the raw markup, and the audit
CSV export neutralizes cells a spreadsheet would run as formulas."""
import csv
import io
from datetime import date

import pytest

from obcms.extensions import db
from obcms.workitems import services as workitem_services
from tests import world as world_module
from tests.test_robustness import urls

SCRIPT = "<script>alert(1)</script>"
COMMENT = '<b onmouseover="alert(2)">bold</b>'
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
ESCAPED_COMMENT = "&lt;b onmouseover=&#34;alert(2)&#34;&gt;bold&lt;/b&gt;"


@pytest.fixture
def hostile(users, organizations):
    """The world with hostile text everywhere people write: PPA title (so the generated root's), comments
    (approval, tranche remarks), notifications, a leaf and an assigned task due today."""
    built = world_module.build_world(users, organizations, title=SCRIPT, comment=COMMENT)
    built.leaf.title = SCRIPT
    task = workitem_services.create_work_item(built.leaf, users["oobc_staff"], title=SCRIPT, work_type="task",
                                              due_date=date.today())
    workitem_services.assign_users(task, users["oobc_staff"], [users["moa_staff"].id])
    db.session.commit()
    built.task = task
    return built


def pages(w):
    """(who, url, headers, what must show escaped)."""
    ppa, leaf, root = w.ppa.id, w.leaf.id, w.root.id
    panel = {"HX-Request": "true", "HX-Target": "wi-panel"}
    htmx = {"HX-Request": "true"}
    return [
        ("moa_staff", "/ppas", {}, [ESCAPED_SCRIPT]),
        ("moa_staff", "/ppas?q=script", htmx, [ESCAPED_SCRIPT]),
        ("moa_staff", f"/ppas/{ppa}", {}, [ESCAPED_SCRIPT]),
        ("moa_staff", f"/ppas/{ppa}/work-items", {}, [ESCAPED_SCRIPT]),
        ("moa_staff", f"/ppas/{ppa}/budget", {}, [ESCAPED_SCRIPT]),
        ("moa_staff", f"/ppas/{ppa}/funding", htmx, [ESCAPED_COMMENT]),
        ("moa_staff", f"/ppas/{ppa}/approval", {}, [ESCAPED_SCRIPT, ESCAPED_COMMENT]),
        ("moa_staff", f"/ppas/{ppa}/history", {}, [ESCAPED_SCRIPT]),
        ("moa_staff", f"/workflow/ppa/{ppa}", {}, [ESCAPED_COMMENT]),
        ("moa_staff", f"/audit/history/ppa/{ppa}", {}, [ESCAPED_SCRIPT]),
        ("moa_staff", "/work-items/", {}, [ESCAPED_SCRIPT]),
        ("moa_staff", f"/work-items/{root}", {}, [ESCAPED_SCRIPT]),
        ("moa_staff", f"/work-items/{leaf}", {}, [ESCAPED_SCRIPT]),
        ("moa_staff", f"/work-items/{leaf}", panel, [ESCAPED_SCRIPT]),
        ("moa_staff", f"/work-items/{leaf}/children", htmx, [ESCAPED_SCRIPT]),
        ("moa_staff", f"/work-items/{leaf}/edit", {}, [ESCAPED_SCRIPT]),
        ("moa_staff", f"/work-items/{leaf}/delete", htmx, [ESCAPED_SCRIPT]),
        ("moa_staff", f"/budget/work-items/{w.distribution.node_id}/distribute", {}, [ESCAPED_SCRIPT]),
        ("moa_staff", f"/budget/distributions/{w.distribution.id}/restore", {}, [ESCAPED_SCRIPT]),
        ("moa_staff", "/notifications", {}, [ESCAPED_SCRIPT]),
        ("moa_staff", "/home/alerts", {}, [ESCAPED_SCRIPT]),
        ("moa_staff", "/home/tasks", {}, [ESCAPED_SCRIPT]),
        ("mfbm_analyst", "/home/approvals", {}, [ESCAPED_SCRIPT]),
        ("admin", "/audit", {}, [ESCAPED_SCRIPT]),
    ]


def test_hostile_text_shows_escaped_where_it_is_shown(client_as, hostile):
    problems = []
    for who, url, headers, expected in pages(hostile):
        response = client_as(who).get(url, headers=headers)
        html = response.get_data(as_text=True)
        if response.status_code != 200:
            problems.append(f"{who} {url}: {response.status_code}")
            continue
        for text in expected:
            if text not in html:
                problems.append(f"{who} {url}: {text!r} not shown")
        for raw in (SCRIPT, COMMENT, "onmouseover=\"alert"):
            if raw in html:
                problems.append(f"{who} {url}: raw {raw!r} in the page")
    assert not problems, "\n".join(problems)


@pytest.mark.slow
@pytest.mark.parametrize("role", ("admin", "moa_staff"))
def test_no_page_carries_the_raw_markup(app, client_as, users, hostile, role):
    client = client_as(role)
    found = []
    for endpoint, url, args in urls(app, "GET", hostile, users):
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get(url, query_string=args, headers=headers, buffered=True)
            html = response.get_data(as_text=True)
            if response.mimetype == "text/html" and (SCRIPT in html or "onmouseover=\"alert" in html):
                found.append(f"{url} ({endpoint}{', htmx' if headers else ''})")
    assert not found, "raw markup on:\n" + "\n".join(found)


def test_json_answers_are_never_sniffed_as_html(client_as, hostile):
    response = client_as("moa_staff").get(f"/api/v1/ppas/{hostile.ppa.id}/budget-allocation-tree")
    assert response.mimetype == "application/json" and response.headers["X-Content-Type-Options"] == "nosniff"
    assert SCRIPT in response.get_json()["nodes"][0]["title"]  # the data itself, unchanged


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_audit_csv_export_neutralizes_formula_cells(client_as, users, organizations, start):
    from obcms.auth import services

    services.update_organization(organizations["BPDA"], name=f"{start}HYPERLINK(\"http://x\",\"y\")", acronym="BPDA",
                                 kind="oversight", contact_email=None, is_active=True)
    db.session.commit()
    response = client_as("admin").get(f"/audit/export.csv?object_type=organization&object_id={organizations['BPDA'].id}",
                                      buffered=True)
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    hostile = [r["new_value"] for r in rows if "HYPERLINK" in (r["new_value"] or "")]
    assert hostile == [f"'{start}HYPERLINK(\"http://x\",\"y\")"] or hostile == ['HYPERLINK("http://x","y")']
    for row in rows:
        assert not any(cell[:1] in ("=", "+", "-", "@", "\t", "\r") for cell in row.values() if cell)
