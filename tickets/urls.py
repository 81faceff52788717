"""URLs of the agent UI and the platform webhooks."""

from django.urls import path
from django.views.generic import RedirectView

from tickets.views import agent, webhooks

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="inbox", permanent=False)),
    path("inbox/", agent.inbox, name="inbox"),
    path("inbox/rows/<int:ticket_id>/", agent.inbox_row, name="inbox-row"),
    path("tickets/<int:number>/", agent.ticket_detail, name="ticket-detail"),
    path("tickets/<int:number>/live/", agent.ticket_thread_partial, name="ticket-live"),
    path("tickets/<int:number>/reply/", agent.ticket_reply, name="ticket-reply"),
    path("webhooks/api/<int:account_id>/", webhooks.api_webhook, name="webhook-api"),
]
