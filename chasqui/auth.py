"""Bearer-token checks for service-to-service calls, compared in constant time."""
from __future__ import annotations

import hmac


def bearer_token_matches(authorization_header: str | None, expected_token: str) -> bool:
    if not expected_token:
        return True  # no token configured: the service is open (loopback-only default)
    if not authorization_header or not authorization_header.startswith("Bearer "):
        return False
    presented = authorization_header[len("Bearer "):].strip()
    return hmac.compare_digest(presented.encode(), expected_token.encode())
