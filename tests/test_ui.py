"""The shared macros of templates/_ui.html render and escape what they are given."""
from decimal import Decimal

from flask import render_template_string

from obcms.pagination import Page


def render(app, source, url="/?sort=title&fy=2026", **context):
    with app.test_request_context(url):
        return render_template_string('{% import "_ui.html" as ui %}' + source, **context)


def test_chips_carry_their_word(app):
    html = render(app, "{{ ui.status_chip('on_hold') }}{{ ui.approval_chip('technical_review') }}"
                       "{{ ui.priority_chip('high') }}")
    assert 'class="chip status status-on_hold">on hold<' in html
    assert "technical review" in html and "approval-technical_review" in html
    assert "priority-high" in html


def test_progress_money_and_stat(app):
    html = render(app, "{{ ui.progress_bar(42) }}{{ ui.money_cell(v) }}{{ ui.stat_card('Budget', '₱ 1') }}",
                  v=Decimal("1234567.8"))
    assert "42 %" in html and "width: 42.0%" in html
    assert '<td class="money">₱ 1,234,567.80</td>' in html
    assert "Budget" in html


def test_sort_header_and_pagination_keep_the_other_arguments(app):
    page = Page(items=[], page=2, per_page=10, total=35)
    html = render(app, "{{ ui.sort_header('Title', 'title', 'title', 'asc') }}{{ ui.pagination(page) }}",
                  page=page)
    assert "sort=title" in html and "dir=desc" in html and "fy=2026" in html
    assert "11–20 of 35" in html and "page=3" in html and "page=1" in html


def test_user_text_is_escaped(app):
    html = render(app, "{{ ui.empty_state(msg) }}", msg="<script>x</script>")
    assert "<script>" not in html
