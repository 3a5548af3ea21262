"""Running the browser tests leaves a clone as it was: screenshots are not tracked files."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from .conftest import REPO, SCREENSHOTS


@pytest.mark.skipif(
    shutil.which("git") is None or not (REPO / ".git").exists(), reason="not a git checkout"
)
@pytest.mark.skipif("VOLTA_SCREENSHOTS" in os.environ, reason="`make screenshots` refreshes docs")
def test_screenshots_go_to_a_folder_git_ignores() -> None:
    probe = SCREENSHOTS / "fleet.png"
    ignored = subprocess.run(
        ["git", "-C", str(REPO), "check-ignore", "-q", str(probe)], check=False
    )
    assert ignored.returncode == 0, f"{probe} would be a tracked file"
