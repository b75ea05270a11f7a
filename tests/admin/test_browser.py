"""The admin panel in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright),
against the real backend served on a loopback port."""
from __future__ import annotations

import pytest

from tests.admin.conftest import PASSWORD, USERNAME, admin_backend
from tests.browser import chromium_page
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
    expect(page.locator("h4.card-title")).to_have_text("Sign in to Chasqui")

    sign_in(page, "not the password")
    expect(page.locator(".alert-danger")).to_contain_text("Wrong username or password")

    sign_in(page, PASSWORD)
    expect(page).to_have_url(f"{backend_url}/admin/")
    expect(page.locator("nav")).to_contain_text(USERNAME)

    # A contact's conversation, through the menu and the contact picker.
    page.click("nav >> text=Conversations")
    page.select_option("#contact", label="+51987000001 · Rosa Quispe (3 messages)")
    page.click("form >> text=Show")
    messages = page.locator("#messages tbody tr")
    expect(messages).to_have_count(3)
    expect(messages.nth(0)).to_contain_text("¿Cuándo riego mi maíz?")
    expect(messages.nth(1)).to_contain_text("Riega el jueves: 25 mm.")
    expect(messages.nth(2)).to_contain_text("<script>alert('x')</script> gracias")  # shown as text, not run

    # An alert through the form, then listed as pending.
    page.click("nav >> text=Alerts")
    page.click("text=New alert")
    page.check("#target-0")
    page.fill("#phone", "+51987000002")
    page.fill("#message", "Helada fuerte esta noche: cubre la papa.")
    page.select_option("#level", "alta")
    page.click("#alert-form button[type=submit]")
    expect(page.locator(".alert-success")).to_contain_text("pending delivery")
    new_row = page.locator("#alerts tbody tr", has_text="Helada fuerte esta noche")
    expect(new_row).to_contain_text("pending")
    expect(new_row).to_contain_text("+51987000002")

    screenshot = tmp_path / "alerts.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 20_000  # a rendered page, not a blank one
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
