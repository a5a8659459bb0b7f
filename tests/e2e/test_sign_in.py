"""Signing in and out through the real page, in a real browser."""
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in_through_the_page


def test_sign_in_wrong_then_right_then_sign_out(page, live_server):
    page.goto("/")
    expect(page).to_have_url(f"{live_server.url}/login?next=/")

    sign_in_through_the_page(page, "staff", "not-the-password")
    expect(page.get_by_role("alert").filter(has_text="Those sign-in details are not right")).to_be_visible()
    expect(page.locator("h1")).to_have_text("Sign in")

    sign_in_through_the_page(page, "staff")
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator("h1")).to_have_text("Good day, Sittie Staff")
    expect(page.get_by_role("navigation", name="Main")).not_to_contain_text("Admin console")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live_server.url}/login")
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.goto("/")
    expect(page.locator("h1")).to_have_text("Sign in")


def test_signed_in_page_helper_accepts_a_role_name(signed_in_page):
    page = signed_in_page("admin")
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Admin console")
    moa = signed_in_page("moa_staff")
    expect(moa.locator("h1")).to_have_text("Good day, Mohammad MOA")


def test_the_more_menu_by_keyboard_on_a_phone(signed_in_page):
    page = signed_in_page("admin")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    more = page.locator(".nav-more summary")
    more.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("ArrowDown")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Portfolio dashboard")).to_be_focused()
    assert not page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1")
    page.keyboard.press("Escape")
    expect(more).to_be_focused()
    expect(nav.get_by_role("link", name="Audit log")).to_be_hidden()
    more.click()
    nav.get_by_role("link", name="Audit log").click()
    expect(page.locator("h1")).to_have_text("Audit log")
    expect(page.locator(".nav-more summary.current")).to_be_visible()
