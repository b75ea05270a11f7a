"""The headers Chasqui's HTML pages send (the admin panel, the simulator), from one place.

A Content-Security-Policy without 'unsafe-inline': the pages' own inline <script>/<style> carry
a nonce made fresh for each response, so a script injected into a page (say, through a message a
contact wrote) does not run. The page may not be framed (clickjacking), no response is sniffed
into another type, and other sites are not told which page a link was followed from.
"""
from __future__ import annotations

import secrets

from flask import Response, g

NONCE = "'nonce-{nonce}'"  # replaced by this response's nonce

# What both pages allow; each page narrows or widens a directive with page_policy(...).
BASE_POLICY = {
    "default-src": ("'self'",),
    "script-src": (NONCE,),
    "style-src": ("'self'", NONCE),
    "img-src": ("'self'", "data:"),
    "object-src": ("'none'",),
    "base-uri": ("'none'",),
    "form-action": ("'self'",),
    "frame-ancestors": ("'none'",),
}


def page_policy(**directives: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """BASE_POLICY with some directives replaced: page_policy(img_src=("'self'", "data:", "https:"))."""
    return {**BASE_POLICY, **{name.replace("_", "-"): tuple(sources) for name, sources in directives.items()}}


def csp_nonce() -> str:
    """This response's nonce: the same for every tag of the page and for its header."""
    if "chasqui_csp_nonce" not in g:
        g.chasqui_csp_nonce = secrets.token_urlsafe(18)
    return g.chasqui_csp_nonce


def content_security_policy(policy: dict[str, tuple[str, ...]]) -> str:
    nonce = csp_nonce()
    return "; ".join(" ".join([name, *(source.format(nonce=nonce) for source in sources)])
                     for name, sources in policy.items())


def add_nosniff(response: Response) -> Response:
    """For every response, JSON included: a browser takes the declared type, never a guess."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def add_page_headers(response: Response, policy: dict[str, tuple[str, ...]]) -> Response:
    """The full set for a page: CSP (with this response's nonce), no framing, nosniff, referrer policy."""
    response.headers.setdefault("Content-Security-Policy", content_security_policy(policy))
    response.headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors' older twin, for old browsers
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return add_nosniff(response)
