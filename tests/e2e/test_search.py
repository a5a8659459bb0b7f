"""Search in a real browser: "/" focuses the header box, a typo finds the live result, arrow keys reach it,
Enter in the box opens the full results page; at phone width nothing scrolls sideways."""
import os
from pathlib import Path

from playwright.sync_api import expect

SCREENSHOTS = Path(os.environ.get("OBCMS_SCREENSHOT_DIR", Path(__file__).parents[2] / "instance" / "screenshots"))

SIDEWAYS = "() => document.documentElement.scrollWidth > window.innerWidth + 1"


def test_type_a_typo_see_the_live_result_press_enter_for_the_page(signed_in_page):
    page = signed_in_page("moa")
    page.keyboard.press("/")
    box = page.locator("#site-search")
    expect(box).to_be_focused()
    box.press_sequentially("livelyhood", delay=20)
    option = page.locator("#search-live [id^=search-ppa-]", has_text="MSSD-2026-001")
    expect(option).to_be_visible()
    expect(option.locator("mark")).to_have_text("Livelihood")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "search-live-desktop.png"))
    expect(box).to_have_attribute("aria-expanded", "true")
    box.press("ArrowDown")
    expect(page.locator("#search-live [role=option]").first).to_be_focused()
    page.keyboard.press("Escape")
    expect(box).to_be_focused()
    box.press("Enter")
    page.wait_for_url("**/search?q=livelyhood")
    expect(page.locator("h1")).to_have_text("Search")
    expect(page.locator(".search-results a", has_text="Livelihood starter kits").first).to_be_visible()


def test_the_search_box_fits_a_phone(signed_in_page):
    page = signed_in_page("admin")
    page.set_viewport_size({"width": 390, "height": 800})
    page.locator("#site-search").press_sequentially("social pension", delay=20)
    expect(page.locator("#search-live [role=option]").first).to_be_visible()
    assert not page.evaluate(SIDEWAYS)
    page.screenshot(path=str(SCREENSHOTS / "search-live-phone.png"))
    page.goto("/search?q=pension+senior")
    expect(page.locator(".search-results a", has_text="Social pension").first).to_be_visible()
    assert not page.evaluate(SIDEWAYS)
    page.screenshot(path=str(SCREENSHOTS / "search-results-phone.png"), full_page=True)
