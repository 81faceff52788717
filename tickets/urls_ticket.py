"""URLs of the ticket page's actions (assign, status, priority, tags, notes) and its contact panel."""

from django.urls import URLPattern, path  # noqa: F401 - path: for the paths to come

urlpatterns: list[URLPattern] = []
