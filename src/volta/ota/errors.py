"""OTA errors, and python-tuf's errors translated into them at the boundary.

python-tuf raises its own hierarchy (`RepositoryError`, `DownloadError`, ...). Nothing past
`volta.ota` sees those: `reason()` says which check failed (the vehicle reports it), and
metadata an operator uploads is refused as `BadMetadata` (an HTTP 400).
"""

from __future__ import annotations

from tuf.api import exceptions as tuf_errors

from volta.errors import BadRequest, VoltaError


class BadMetadata(BadRequest):
    """Metadata uploaded by an operator is malformed, unsigned or signed by the wrong keys
    (HTTP 400). Re-sign it with the role's keys and upload again."""


class KeyFileError(VoltaError):
    """A key file is missing, unreadable, exists already or has unsafe permissions. Fix the key
    directory; no key is ever overwritten or logged."""


# python-tuf's error classes, most specific first, with what the failed check means.
_MEANINGS: tuple[tuple[type[Exception], str], ...] = (
    (tuf_errors.ExpiredMetadataError, "expired metadata (freeze attack or stale repository)"),
    (tuf_errors.EqualVersionNumberError, "metadata version did not advance"),
    (tuf_errors.BadVersionNumberError, "metadata version went back (rollback attack)"),
    (tuf_errors.UnsignedMetadataError, "metadata not signed by a threshold of trusted keys"),
    (tuf_errors.LengthOrHashMismatchError, "length or hash differs from the signed metadata"),
    (tuf_errors.DownloadLengthMismatchError, "more data than the signed length (endless data)"),
    (tuf_errors.DownloadHTTPError, "the repository did not serve the file"),
    (tuf_errors.DownloadError, "download failed"),
    (tuf_errors.RepositoryError, "metadata failed verification"),
)


def reason(error: Exception) -> str:
    """What a python-tuf error means, followed by python-tuf's own message."""
    for cls, meaning in _MEANINGS:
        if isinstance(error, cls):
            return f"{meaning}: {error}"
    return f"{type(error).__name__}: {error}"
