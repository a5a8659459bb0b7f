"""PPA pages: every page and tab renders as a full page and as an HTMX fragment."""
import pytest

PAGES = ["/ppas", "/ppas/dashboard", "/ppas/new", "/ppas/{id}", "/ppas/{id}/edit", "/ppas/{id}/work-items",
         "/ppas/{id}/budget", "/ppas/{id}/funding", "/ppas/{id}/approval", "/ppas/{id}/history"]


@pytest.mark.parametrize("url", PAGES)
def test_pages_render_whole_and_as_fragments(client_as, make_ppa, add_tranches, url):
    ppa = make_ppa(code="MSSD-26-001")
    add_tranches(ppa, allocation="1000000", obligation="100000", disbursement="5000")
    client = client_as("oobc_staff")
    page = client.get(url.format(id=ppa.id))
    assert page.status_code == 200
    assert "<html" in page.get_data(as_text=True)
    fragment = client.get(url.format(id=ppa.id), headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    if url not in ("/ppas/new", "/ppas/{id}/edit"):
        assert "<html" not in fragment.get_data(as_text=True)
