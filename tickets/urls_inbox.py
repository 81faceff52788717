"""URLs of the inbox part of the agent UI (views, filters, search, saved views)."""

from django.urls import path

from tickets.views import inbox

urlpatterns = [
    path("inbox/", inbox.inbox, name="inbox"),
    path("inbox/rows/<int:ticket_id>/", inbox.inbox_row, name="inbox-row"),
]
