"""Secrets out of logs: every log record's message and string arguments are scrubbed of
bearer tokens, `?token=` query values, Volta API tokens and JWTs when the record is made.

Why at record creation (a log record factory) and not a handler filter: uvicorn logs a
WebSocket's URL, `?token=` included, and the handlers are whatever the deployment configured
(our JSON handler, pytest's caplog, a file); the factory covers every one of them.
"""

from __future__ import annotations

import logging
import re
from typing import Any

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer\s+)[^\s\"',]+"), r"\1[redacted]"),
    (re.compile(r"(?i)([?&](?:access_)?token=)[^&\s\"']+"), r"\1[redacted]"),
    (re.compile(r"(?i)(password[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+"), r"\1[redacted]"),
    (re.compile(r"\b(ot|vt)_[A-Za-z0-9_-]{16,}"), r"\1_[redacted]"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), "[jwt redacted]"),
)
_MARKERS = ("earer", "token", "assword", "ot_", "vt_", "eyJ")


def redact(text: str) -> str:
    """`text` without secrets (unchanged if it has none)."""
    if not any(m in text for m in _MARKERS):
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, int | float):
        return value
    # An object (a URL, a request) is formatted with str() anyway when the record is emitted
    # (records are only made for enabled levels); replace it only if it holds a secret.
    text = str(value)
    cleaned = redact(text)
    return value if cleaned == text else cleaned


_installed = False


def install() -> None:
    """Scrub every log record made from now on in this process (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_clean(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _clean(v) for k, v in record.args.items()}
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
