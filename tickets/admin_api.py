"""Admin of the REST API's tokens: superusers only, and a key is shown once, when it is made.

DRF's own token admin lists every user's key and lets anyone with its permissions make a token for any user:
a team lead given it could act through the API as a superuser. This one replaces it.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from rest_framework.authtoken.admin import TokenAdmin
from rest_framework.authtoken.models import TokenProxy

admin.site.unregister(TokenProxy)


@admin.register(TokenProxy)
class ApiTokenAdmin(TokenAdmin):
    list_display = ("user", "created")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a token is made or revoked, never edited

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def save_model(self, request: HttpRequest, obj: TokenProxy, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        self.message_user(
            request, f"The API token of {obj.user} is {obj.key}. Give it to them now: it is not shown again."
        )
