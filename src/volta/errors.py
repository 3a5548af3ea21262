"""Volta's error hierarchy.

One root class; each subclass says what the caller should do. Library errors are wrapped at
the boundary; `volta.api.errors` maps these classes to HTTP answers in one table.
"""

from __future__ import annotations


class VoltaError(Exception):
    """Root of every error Volta raises on purpose. `str(err)` is the reason a user sees."""


class DecodeError(VoltaError):
    """The bytes are not a valid message (not JSON/MessagePack, wrong structure). Fix the sender."""


class ValidationError(VoltaError):
    """A value does not fit its signal's type, range or allowed values. Fix the value."""


class UnknownSignal(ValidationError):
    """The signal path or id is not in the catalog."""


class AuthError(VoltaError):
    """No valid credentials were presented. Authenticate (HTTP 401)."""


class Forbidden(VoltaError):
    """Credentials are valid but do not allow this (HTTP 403): a foreign VIN, a wrong role."""


class NotFound(VoltaError):
    """The thing asked for does not exist (HTTP 404)."""


class Conflict(VoltaError):
    """The request clashes with existing state, e.g. a VIN registered twice (HTTP 409)."""


class PayloadTooLarge(VoltaError):
    """The message is over the configured size limit (HTTP 413). Send smaller batches."""


class BadRequest(VoltaError):
    """The request's parameters are wrong (HTTP 400/422); the message says which."""


class RateLimited(VoltaError):
    """Too many requests with one credential (HTTP 429). Wait `retry_after_s` and retry."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Unavailable(VoltaError):
    """A backing engine (store, bus, broker) is down. Retry later with back-off (HTTP 503)."""


class ConfigError(VoltaError):
    """A setting, a command-line option or a file Volta was pointed at is wrong or missing (an
    unknown engine URL, an unreadable OSM file, a tokens file that is not JSON). Fix the
    configuration and start again; retrying as is fails the same way."""


class CatalogError(VoltaError):
    """The signal catalog's data is inconsistent (unknown datatype, id collision, an overlay that
    widens a spec range). Fix the VSS or overlay file; nothing can be validated until then."""
