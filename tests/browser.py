"""Debian's headless Chromium driven by Playwright, for the tests of web pages (the admin panel,
the WhatsApp simulator). Never a downloaded browser: ./dev test installs /usr/bin/chromium."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

CHROMIUM = Path("/usr/bin/chromium")
STEP_TIMEOUT_MS = 15_000
LAUNCH_TIMEOUT_MS = 60_000  # starting Chromium took over 15 s once while model servers used both cores


def require_chromium() -> None:
    """Skipped where Chromium is missing, except in CI (./dev test installs it): there it must run."""
    if not CHROMIUM.exists():
        missing = f"{CHROMIUM} missing: ./dev test installs it (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)


@contextmanager
def chromium_page(profile_dir: Path, width: int, height: int, extra_args: tuple[str, ...] = ()) -> Iterator:
    """`extra_args`: more Chromium switches (e.g. a fake microphone)."""
    from playwright.sync_api import sync_playwright

    require_chromium()
    with sync_playwright() as playwright:
        # A persistent context because Chromium gets its own --user-data-dir in the test's folder.
        browser = playwright.chromium.launch_persistent_context(
            user_data_dir=str(profile_dir), executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync", *extra_args],
            viewport={"width": width, "height": height}, timeout=LAUNCH_TIMEOUT_MS)
        try:
            tab = browser.pages[0] if browser.pages else browser.new_page()
            tab.set_default_timeout(STEP_TIMEOUT_MS)
            yield tab
        finally:
            browser.close()


def watch_csp_violations(tab) -> list[str]:
    """Every Content-Security-Policy violation the browser reports from now on, on any page the
    tab opens: the `securitypolicyviolation` events and the console's "Refused to ..." errors."""
    violations: list[str] = []
    tab.context.expose_function("chasquiCspViolation", lambda text: violations.append(text))
    tab.context.add_init_script(
        "document.addEventListener('securitypolicyviolation', (e) => window.chasquiCspViolation("
        "`${e.violatedDirective} blocked ${e.blockedURI || 'inline code'} on ${document.location.pathname}`));")
    tab.on("console", lambda message: violations.append(message.text)
           if message.type == "error" and "Content Security Policy" in message.text else None)
    return violations
