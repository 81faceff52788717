"""URLs of the inbox part of the agent UI (views, filters, search, saved views)."""

from django.urls import path

from tickets.views import inbox

urlpatterns = [
    path("inbox/", inbox.inbox, name="inbox"),
    path("inbox/rows/<int:ticket_id>/", inbox.inbox_row, name="inbox-row"),
    path("inbox/views/", inbox.saved_view_create, name="inbox-saved-views"),
    path("inbox/views/<int:view_id>/", inbox.saved_view_open, name="inbox-saved-view"),
    path("inbox/views/<int:view_id>/delete/", inbox.saved_view_remove, name="inbox-saved-view-delete"),
]
