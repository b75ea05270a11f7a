"""The dashboard in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright),
against the real backend on a loopback port: the charts are drawn under the panel's CSP, and the
screenshot shows them (coloured pixels inside every canvas), not blank boxes."""
from __future__ import annotations

import pytest

from tests.admin.conftest import PASSWORD, USERNAME, admin_backend
from tests.admin.test_dashboard import recent
from tests.browser import chromium_page, watch_csp_violations
from tests.servers import served_in_thread

sync_api = pytest.importorskip("playwright.sync_api")
Image = pytest.importorskip("PIL.Image")
pytestmark = pytest.mark.timeout(180)

CANVASES = ("chart-messages", "chart-new-users", "chart-sources", "chart-reply-time", "chart-ratings", "chart-alerts")


@pytest.fixture
def backend_url(tmp_path, monkeypatch):
    monkeypatch.setenv("CHASQUI_TIMEZONE", "America/Lima")
    app = admin_backend(tmp_path)
    recent(app.extensions["chasqui_store"].db)
    with served_in_thread(app, "dashboard-test-server") as url:
        yield url


@pytest.fixture
def page(tmp_path):
    with chromium_page(tmp_path / "chromium-profile", 1366, 900) as tab:
        yield tab


def coloured_pixels(image, box: dict, legend: str) -> int:
    """Pixels inside `box` (CSS pixels, as the screenshot's) that are clearly coloured: chart data,
    not the white background, grey grid lines or black text, nor the legend's swatches (on top,
    or on the right of the doughnut)."""
    left, top, right, bottom = int(box["x"]), int(box["y"]), int(box["x"] + box["width"]), int(box["y"] + box["height"])
    if legend == "top":
        top += 40
    else:
        right = left + int(box["width"] * 0.45)
    crop = image.crop((left, top, right, bottom)).convert("RGB")
    return sum(1 for r, g, b in crop.getdata() if max(r, g, b) - min(r, g, b) > 60)


def test_the_dashboard_draws_its_charts(backend_url, page, tmp_path):
    expect = sync_api.expect
    violations = watch_csp_violations(page)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{backend_url}/admin/")
    page.fill("#username", USERNAME)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page).to_have_url(f"{backend_url}/admin/")
    expect(page.locator("body")).to_have_attribute("data-charts-drawn", "yes")
    for canvas in CANVASES:
        expect(page.locator(f"#{canvas}")).to_be_visible()
        # Drawn: the table of numbers folded away (it stays open when no script runs).
        assert page.locator(f'details[data-table-for="{canvas}"]').evaluate("d => d.open") is False, canvas

    screenshot = tmp_path / "dashboard.png"
    page.screenshot(path=str(screenshot), full_page=True)
    image = Image.open(screenshot)
    assert image.width >= 1366
    for canvas in CANVASES:
        # full_page screenshot coordinates: the box relative to the page, not the viewport.
        box = page.locator(f"#{canvas}").evaluate(
            "c => { const r = c.getBoundingClientRect(); "
            "return {x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height}; }")
        assert box["width"] > 100 and box["height"] > 100, (canvas, box)
        legend = "right" if canvas == "chart-sources" else "top"
        assert coloured_pixels(image, box, legend) > 100, f"{canvas} looks blank in {screenshot}"
    assert not violations, violations
    assert not errors, errors

    # A filter through the form: one domain, the charts drawn again.
    page.select_option("#domain", "running")
    page.click("#dashboard-filter button[type=submit]")
    expect(page).to_have_url(f"{backend_url}/admin/?from=" + page.input_value("#from") + "&to="
                             + page.input_value("#to") + "&domain=running")
    expect(page.locator("body")).to_have_attribute("data-charts-drawn", "yes")
    assert not violations and not errors, (violations, errors)
