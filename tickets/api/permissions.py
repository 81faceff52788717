"""Who may act through the API: what the caller may not see is a 404 (the queryset hides it); what they may see
but not do is a 403 (Django's model permissions, as in the admin)."""

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request
from rest_framework.views import APIView

_NEEDED = {"POST": "add", "PUT": "change", "PATCH": "change", "DELETE": "delete"}


class ModelActionPermission(permissions.IsAuthenticated):
    """Signed in (a token or a session), always. Reading needs only visibility; creating, changing and deleting
    need the model's add/change/delete permission.

    On one object the check runs after it was found among those the caller sees, so a hidden one is a 404 first.
    """

    message = "You may not do this: ask an administrator for the permission."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not super().has_permission(request, view):
            return False
        if request.method == "POST" and not view.kwargs.get(getattr(view, "lookup_field", "pk")):
            return self._holds(request, view, "add")
        return True

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        action = _NEEDED.get(request.method or "")
        return action is None or self._holds(request, view, action)

    @staticmethod
    def _holds(request: Request, view: APIView, action: str) -> bool:
        model = view.get_queryset().model
        return bool(request.user.has_perm(f"{model._meta.app_label}.{action}_{model._meta.model_name}"))
