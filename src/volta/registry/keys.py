"""Secret key files of a data dir (the token HMAC key, the JWT signing key)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def load_or_create_key(path: Path, if_damaged: str) -> bytes:
    """The 32-byte key in `path`, created with mode 0600 on first use (O_EXCL, so two
    processes starting together agree on one key). OSError saying `if_damaged` when the file
    is too short to be one of ours."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes()
    else:
        key = secrets.token_bytes(32)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
    if len(key) < 32:
        raise OSError(f"{path} is damaged: {if_damaged}")
    return key
