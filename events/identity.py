"""The citizen key: a keyed hash of the NIK, so topics partition by citizen and no tool shows a NIK."""

from __future__ import annotations

import hashlib
import hmac


def citizen_key(nik: str, secret: bytes) -> str:
    """HMAC-SHA256 of the NIK under the office's secret, as 64 lowercase hex.

    The same NIK always gives the same key (all events of one citizen land in one partition, in order);
    without the secret the key cannot be turned back into a NIK by trying the ~10^10 plausible ones.
    """
    return hmac.new(secret, nik.encode("utf-8"), hashlib.sha256).hexdigest()
