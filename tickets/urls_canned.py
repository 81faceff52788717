"""URLs of canned responses (saved replies)."""

from django.urls import URLPattern, path  # noqa: F401 - path: for the paths to come

urlpatterns: list[URLPattern] = []
