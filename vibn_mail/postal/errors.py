"""Typed errors for every Postal interface: the legacy send API and our admin API.

Postal's legacy API answers HTTP 200 for everything and puts the outcome in ``status`` and
``data.code``; :func:`send_api_error` turns such an answer into the exception class named after
Postal's code, so callers can ``except UnauthenticatedFromAddress`` instead of comparing strings.
The admin API is ours and uses real HTTP statuses; :func:`admin_api_error` maps its
``{"error": {"code", "message", "field"}}`` body.
"""

from __future__ import annotations

from typing import Any


class PostalError(Exception):
    """Base of everything this package raises about Postal."""


class PostalConnectionError(PostalError):
    """Postal could not be reached, or the answer did not arrive.

    ``request_may_have_reached_postal`` is False only when the connection failed before anything was
    sent; a caller must not blindly re-send a message when it is True (Postal has no idempotency key).
    """

    def __init__(self, message: str, *, request_may_have_reached_postal: bool) -> None:
        super().__init__(message)
        self.request_may_have_reached_postal = request_may_have_reached_postal


class PostalBlockedHostError(PostalError):
    """Rails' host authorization refused the request (HTTP 403 "Blocked host")."""

    def __init__(self, host: str | None) -> None:
        super().__init__(
            f"Postal answered 403 'Blocked host' for Host {host!r}: Postal only serves its web_hostname. "
            "Set the client's web_hostname (VIBN_POSTAL_WEB_HOSTNAME) to postal.web_hostname from postal.yml "
            "so the Host header matches."
        )
        self.host = host


class PostalProtocolError(PostalError):
    """Postal answered something that is not the documented shape (wrong URL, a proxy's error page, …)."""

    def __init__(self, message: str, *, status_code: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body[:500]


# -- legacy send API -------------------------------------------------------------------------------------


class PostalApiError(PostalError):
    """Postal answered ``status: error`` (``code`` is Postal's ``data.code``) or ``parameter-error``."""

    code: str = "Unknown"

    def __init__(self, code: str, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message
        self.data = dict(data or {})


class PostalParameterError(PostalApiError):
    """``status: parameter-error``: a required parameter was missing or malformed."""

    code = "parameter-error"


class AccessDenied(PostalApiError):
    code = "AccessDenied"


class InvalidServerAPIKey(PostalApiError):
    code = "InvalidServerAPIKey"


class ServerSuspended(PostalApiError):
    code = "ServerSuspended"


class NoRecipients(PostalApiError):
    code = "NoRecipients"


class TooManyToAddresses(PostalApiError):
    code = "TooManyToAddresses"


class TooManyCCAddresses(PostalApiError):
    code = "TooManyCCAddresses"


class TooManyBCCAddresses(PostalApiError):
    code = "TooManyBCCAddresses"


class NoContent(PostalApiError):
    code = "NoContent"


class FromAddressMissing(PostalApiError):
    code = "FromAddressMissing"


class UnauthenticatedFromAddress(PostalApiError):
    code = "UnauthenticatedFromAddress"


class AttachmentMissingName(PostalApiError):
    code = "AttachmentMissingName"


class AttachmentMissingData(PostalApiError):
    code = "AttachmentMissingData"


class MessageNotFound(PostalApiError):
    code = "MessageNotFound"


SEND_API_ERRORS: dict[str, type[PostalApiError]] = {
    cls.code: cls
    for cls in (
        AccessDenied,
        InvalidServerAPIKey,
        ServerSuspended,
        NoRecipients,
        TooManyToAddresses,
        TooManyCCAddresses,
        TooManyBCCAddresses,
        NoContent,
        FromAddressMissing,
        UnauthenticatedFromAddress,
        AttachmentMissingName,
        AttachmentMissingData,
        MessageNotFound,
    )
}


def send_api_error(status: str, data: dict[str, Any]) -> PostalApiError:
    """The exception for a non-success legacy API answer (``status`` and its ``data`` object)."""
    message = str(data.get("message") or "")
    if status == "parameter-error":
        return PostalParameterError("parameter-error", message, data)
    code = str(data.get("code") or "Unknown")
    return SEND_API_ERRORS.get(code, PostalApiError)(code, message, data)


# -- admin API -------------------------------------------------------------------------------------------


class AdminApiError(PostalError):
    """An error answer from the admin API: HTTP status, our error code, message, offending field."""

    def __init__(self, status_code: int, code: str, message: str, field: str | None = None) -> None:
        where = f" (field {field!r})" if field else ""
        super().__init__(f"{code}{where}: {message}")
        self.status_code = status_code
        self.code = code
        self.message = message
        self.field = field


class AdminUnauthorized(AdminApiError):
    """Missing or wrong bearer token."""


class AdminNotFound(AdminApiError):
    """The named organization/server/credential/domain/webhook/user does not exist."""


class AdminValidationError(AdminApiError):
    """Postal's model refused a value; ``field`` names it."""


class AdminConflict(AdminApiError):
    """The object exists with an attribute that cannot be changed in place (e.g. a credential's type)."""


ADMIN_API_ERRORS: dict[str, type[AdminApiError]] = {
    "Unauthorized": AdminUnauthorized,
    "NotFound": AdminNotFound,
    "ValidationFailed": AdminValidationError,
    "Conflict": AdminConflict,
}


def admin_api_error(status_code: int, body: Any) -> AdminApiError:
    """The exception for a non-2xx admin API answer; tolerates bodies that are not ours."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return AdminApiError(status_code, "UnexpectedResponse", f"HTTP {status_code} without an error object")
    code = str(error.get("code") or "Unknown")
    field = error.get("field")
    return ADMIN_API_ERRORS.get(code, AdminApiError)(
        status_code, code, str(error.get("message") or ""), str(field) if field else None
    )
