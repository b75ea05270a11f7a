"""The officer's desk in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright)
against the real backend on a loopback port, in the panel's default language: an officer opens
the inbox, takes a conversation over, writes a reply and sees it queued with its delivery state.
The texts checked are the Spanish catalog's own (so a missing translation fails here), and the
screenshot is checked to show the page, not a blank one."""
from __future__ import annotations

import pytest

from backend import takeovers
from backend.store.database import transaction
from tests.admin.conftest import PASSWORD, USERNAME, admin_backend
from tests.browser import chromium_page, watch_csp_violations
from tests.servers import served_in_thread

sync_api = pytest.importorskip("playwright.sync_api")
Image = pytest.importorskip("PIL.Image")
pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def app(tmp_path):
    app = admin_backend(tmp_path)
    with transaction(app.extensions["chasqui_store"].db) as connection:
        takeovers.request(connection, 1, "asked")
    return app


@pytest.fixture
def backend_url(app):
    with served_in_thread(app, "desk-test-server") as url:
        yield url


@pytest.fixture
def page(tmp_path):
    with chromium_page(tmp_path / "chromium-profile", 1280, 900) as tab:
        yield tab


def spanish(app, text: str, **variables) -> str:
    """`text` as the Spanish catalog has it; fails when it has no translation."""
    from flask_babel import force_locale, gettext
    with app.test_request_context("/admin/"), force_locale("es"):
        translated = gettext(text, **variables)
    assert translated != text % variables if variables else translated != text, f"no Spanish for {text!r}"
    return translated


def test_an_officer_takes_over_and_replies_in_spanish(app, backend_url, page, tmp_path):
    expect = sync_api.expect
    violations = watch_csp_violations(page)
    page.goto(f"{backend_url}/admin/inbox/")
    page.fill("#username", USERNAME)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page).to_have_url(f"{backend_url}/admin/inbox/")
    row = page.locator("#takeovers tbody tr").first
    expect(row).to_contain_text("+51987000001")
    expect(row).to_contain_text(spanish(app, "asked for a person"))
    expect(page.locator("nav")).to_contain_text(spanish(app, "Inbox"))

    row.locator("a").first.click()
    page.click(f"text={spanish(app, 'Take over this conversation')}")
    expect(page.locator("#takeover-state")).to_contain_text(spanish(app, "attended by %(officer)s", officer=USERNAME))
    page.fill("#text", "Hola Rosa, soy del equipo. ¿Desde cuándo riegas así?")
    page.click("#reply button[type=submit]")
    last = page.locator("#messages tbody tr").last
    expect(last).to_contain_text("Hola Rosa, soy del equipo.")
    expect(last.locator(".chasqui-delivery")).to_contain_text(spanish(app, "pending"))
    expect(page.locator("#hand-back button")).to_contain_text(spanish(app, "Hand back to the bot"))

    screenshot = tmp_path / "takeover.png"
    page.screenshot(path=str(screenshot), full_page=True)
    image = Image.open(screenshot).convert("RGB")
    box = last.bounding_box()
    crop = image.crop((int(box["x"]), int(box["y"]), int(box["x"] + box["width"]), int(box["y"] + box["height"])))
    dark = sum(1 for pixel in crop.getdata() if max(pixel) < 110)
    assert dark > 200, f"the officer's message is not drawn in {screenshot}"  # text, not a blank row
    assert not violations, violations
    db = app.extensions["chasqui_store"].db
    assert db.execute("SELECT status, officer FROM takeovers").fetchone() == ("taken", USERNAME)
    assert db.execute("SELECT kind FROM alerts WHERE message_id IS NOT NULL ORDER BY id").fetchall() == \
        [("notice",), ("reply",)]
