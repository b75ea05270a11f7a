"""The admin panel in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright),
against the real backend served on a loopback port."""
from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest

from admin.users import create_user
from backend.app import create_app
from tests.admin.conftest import PASSWORD, USERNAME, admin_backend, closed_after_the_test, panel_settings, seed
from tests.browser import chromium_page, watch_csp_violations
from tests.servers import served_in_thread

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def backend_url(tmp_path):
    """The backend with the panel, served by werkzeug in a thread; stopped at teardown."""
    with served_in_thread(admin_backend(tmp_path), "admin-test-server") as url:
        yield url


@pytest.fixture
def page(tmp_path):
    with chromium_page(tmp_path / "chromium-profile", 1366, 900) as tab:
        yield tab


def sign_in(page, password: str) -> None:
    page.fill("#username", USERNAME)
    page.fill("#password", password)
    page.click("#login-form button[type=submit]")


def test_an_admin_signs_in_reads_a_conversation_and_sends_an_alert(backend_url, page, tmp_path):
    expect = sync_api.expect

    # Anonymous: the panel sends the browser to the login page.
    page.goto(f"{backend_url}/admin/")
    expect(page).to_have_url(f"{backend_url}/admin/login?next=/admin/")
    expect(page.locator("h4.card-title")).to_have_text("Iniciar sesión en Chasqui")  # Spanish by default

    sign_in(page, "not the password")
    expect(page.locator(".alert-danger")).to_contain_text("Usuario o contraseña incorrectos")

    sign_in(page, PASSWORD)
    expect(page).to_have_url(f"{backend_url}/admin/")
    expect(page.locator("nav")).to_contain_text(USERNAME)
    expect(page.locator("nav")).to_contain_text("Cerrar sesión")
    expect(page.locator("html")).to_have_attribute("lang", "es")

    # A contact's conversation, through the menu and the conversations list.
    page.click("nav >> text=Conversaciones")
    rosa = page.locator("#conversations tbody tr", has_text="Rosa Quispe")
    expect(rosa).to_contain_text("3")  # her messages, counted
    rosa.locator("a").click()
    messages = page.locator("#messages tbody tr")
    expect(messages).to_have_count(3)
    expect(messages.nth(0)).to_contain_text("¿Cuándo riego mi maíz?")
    expect(messages.nth(1)).to_contain_text("Riega el jueves: 25 mm.")
    expect(messages.nth(2)).to_contain_text("<script>alert('x')</script> gracias")  # shown as text, not run

    # An alert through the form, then listed as pending.
    page.click("nav >> text=Alertas")
    page.click("text=Nueva alerta")
    page.check("#target-0")
    page.fill("#phone", "+51987000002")
    page.fill("#message", "Helada fuerte esta noche: cubre la papa.")
    page.select_option("#level", "alta")
    page.click("#alert-form button[type=submit]")
    expect(page.locator(".alert-success")).to_contain_text("pendiente de entrega")
    new_row = page.locator("#alerts tbody tr", has_text="Helada fuerte esta noche")
    expect(new_row).to_contain_text("pendiente")
    expect(new_row).to_contain_text("+51987000002")

    # English through the navbar's switch, kept for the session.
    page.click("#language-switch >> text=EN")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.click("nav >> text=Contacts")
    expect(page.locator("#contacts thead")).to_contain_text("Phone")

    screenshot = tmp_path / "alerts.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 20_000  # a rendered page, not a blank one
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def every_plugin_backend_url(tmp_path):
    """The backend with every plug-in's admin pages (agro's plots, running's Garmin import)."""
    settings = panel_settings(tmp_path, warm_up=False, plugins=("agro", "running", "example"))
    app = closed_after_the_test(create_app(settings))
    db = app.extensions["chasqui_store"].db
    create_user(db, USERNAME, PASSWORD)
    seed(db)
    with served_in_thread(app, "admin-csp-test-server") as url:
        yield url


def panel_links(page, base_url: str) -> set[str]:
    """The panel pages this page links to (GET links only: every change is a POSTed form; files to
    download are not pages)."""
    hrefs = page.locator("a[href]:not([download])").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    links = set()
    for href in hrefs:
        url = urljoin(page.url, href).split("#")[0]
        parts = urlsplit(url)
        if url.startswith(base_url) and parts.path.startswith("/admin") and "/static/" not in parts.path:
            links.add(url)
    return links


def test_every_panel_page_runs_under_its_content_security_policy(every_plugin_backend_url, page):
    """The CSP has no 'unsafe-inline': flask-admin's scripts and styles, layout.html's <style> and the
    delete buttons' confirm() (confirm.js, no inline handler) must all be allowed by nonce, or the panel breaks."""
    base = every_plugin_backend_url
    violations = watch_csp_violations(page)
    page.goto(f"{base}/admin/login")
    sign_in(page, PASSWORD)
    sync_api.expect(page).to_have_url(f"{base}/admin/")
    # Bootstrap's CSS is applied (a blocked stylesheet would leave the navbar unstyled).
    assert page.locator("nav.navbar").evaluate("n => getComputedStyle(n).display") == "flex"

    # Breadth first, one URL a path (the pager's and filters' variants of a page are the same page):
    # every page the menu reaches is visited, whatever order a page lists its links in.
    seen, queue = set(), [f"{base}/admin/"]
    while queue and len(seen) < 80:
        url = queue.pop(0)
        if url in seen or urlsplit(url).path in {urlsplit(u).path for u in seen}:
            continue
        seen.add(url)
        response = page.goto(url)
        assert response.status == 200, url
        assert "nonce-" in response.headers["content-security-policy"]
        queue.extend(panel_links(page, base) - seen)
    visited = {urlsplit(u).path for u in seen}
    for path in ("/admin/contacts/", "/admin/conversations/", "/admin/alerts/", "/admin/forms/",
                 "/admin/knowledge/", "/admin/agro/plots/"):
        assert path in visited, f"the crawl missed {path}: {sorted(visited)}"

    # layout.html's nonce'd <style> applies: .chasqui-nowrap is one of its rules.
    page.goto(f"{base}/admin/contacts/")
    assert page.locator("td.chasqui-nowrap").first.evaluate("td => getComputedStyle(td).whiteSpace") == "nowrap"

    # The delete button's confirm() (confirm.js, the question translated); dismissed, nothing is deleted.
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{base}/admin/knowledge/?lang=es")  # the crawl may have followed the switch to English
    rows = page.locator("form[action*='/delete'] button[type=submit]")
    count = rows.count()
    assert count >= 1
    rows.first.click()
    page.wait_for_timeout(300)
    assert dialogs == ["¿Eliminar esta entrada?"]
    assert page.locator("form[action*='/delete'] button[type=submit]").count() == count
    assert violations == []
