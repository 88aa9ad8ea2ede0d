"""The services' own errors, shared by events, completions and extensions.

They live apart from the services so that each service module imports only
what it needs (no service imports another one for an exception class).
"""

from __future__ import annotations

from ...errors import DubanError


class ServiceError(DubanError, ValueError):
    """A request that cannot be carried out as asked (wrong id, wrong state, out-of-range date)."""


class NotFound(DubanError, LookupError):
    """No such trigger, event, obligation or extension request."""
