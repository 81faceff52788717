"""Every API error as JSON that says what is wrong: {"error": code, "message": words, "fields": {...}}."""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from tickets.services.accounts import RETYPE, AccountInUse, CredentialsRefused, SecretsRequired

# Domain exceptions of the services, and the answer each gets. One place, so every endpoint answers alike.
_DOMAIN: dict[type[Exception], tuple[int, str]] = {
    CredentialsRefused: (status.HTTP_400_BAD_REQUEST, "credentials_refused"),
    AccountInUse: (status.HTTP_409_CONFLICT, "in_use"),
}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with domain errors mapped to 4xx and every answer in one JSON shape."""
    if isinstance(exc, SecretsRequired):
        return Response(
            {"error": "invalid", "message": str(exc), "fields": {name: [RETYPE] for name in exc.fields}},
            status=status.HTTP_400_BAD_REQUEST,
        )
    for kind, (code, name) in _DOMAIN.items():
        if isinstance(exc, kind):
            return Response({"error": name, "message": str(exc)}, status=code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("No such resource, or it is not yours to see.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None  # a bug: Django's 500, logged as such
    assert isinstance(exc, exceptions.APIException)
    response.data = _body(exc, response.data)
    return response


def _body(exc: exceptions.APIException, data: Any) -> dict[str, Any]:
    if isinstance(exc, exceptions.ValidationError):
        fields = data if isinstance(data, dict) else {"non_field_errors": data}
        general = fields.pop("non_field_errors", None)
        said = "; ".join(str(item) for item in general) if isinstance(general, list) else ""
        message = said or "Some fields are not valid: " + ", ".join(sorted(fields))
        body: dict[str, Any] = {"error": "invalid", "message": message}
        if fields:
            body["fields"] = fields
        return body
    detail = data.get("detail", data) if isinstance(data, dict) else data
    return {"error": exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code, "message": str(detail)}
