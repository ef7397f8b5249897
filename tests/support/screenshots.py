"""Where a browser test puts its screenshot: the README's pictures in docs/ are these, taken under load."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support import ROOT

UPDATE_SCREENSHOTS = "EKTP_UPDATE_SCREENSHOTS"
"""Set to 1 to write the screenshots over the README's pictures; otherwise a run leaves the checkout as it was."""


def screenshot_path(name: str, tmp_path: Path) -> Path:
    """`docs/<name>` when `EKTP_UPDATE_SCREENSHOTS=1`, else `<name>` in the test's temporary folder."""
    return ROOT / "docs" / name if os.environ.get(UPDATE_SCREENSHOTS) == "1" else tmp_path / name
