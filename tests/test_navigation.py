"""The main navigation: the daily places in view, the rest under "More" (one or two lines on a phone), each
entry only for the roles that may use it, and the current page marked wherever its entry sits."""
import re


def _main_and_more(html):
    nav = html[html.index('<nav class="mainnav"'):html.index("</nav>")]
    more = nav[nav.index('class="nav-more"'):] if 'class="nav-more"' in nav else ""
    main = nav[:len(nav) - len(more)]
    return re.findall(r">([^<>]+)</a>", main), re.findall(r">([^<>]+)</a>", more)


def test_daily_places_stay_in_view_and_the_rest_sit_under_more(client_as):
    main, more = _main_and_more(client_as("admin").get("/").get_data(as_text=True))
    assert main == ["Home", "My tasks", "PPAs", "Work items", "Calendar"]
    assert more == ["Portfolio dashboard", "Budget alerts", "Assessments", "Reports", "Audit log", "Jobs", "Admin console"]


def test_a_role_sees_only_what_it_may_use(client_as):
    main, more = _main_and_more(client_as("viewer").get("/").get_data(as_text=True))
    assert "Admin console" not in main + more and "Audit log" not in main + more
    assert "PPAs" in main


def test_the_current_page_is_marked_inside_more_too(client_as):
    html = client_as("admin").get("/audit").get_data(as_text=True)
    assert '<summary class="current">More</summary>' in html
    assert re.search(r'<a href="/audit" aria-current="page">Audit log</a>', html)
    assert '<summary>More</summary>' in client_as("admin").get("/ppas").get_data(as_text=True)
