"""URLs of the agent UI and the platform webhooks."""

from django.urls import include, path
from django.views.generic import RedirectView

from tickets.views import agent, attachments, contacts, notifications, webhooks

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="inbox", permanent=False)),
    # Each part of the workspace keeps its own URLs.
    path("", include("tickets.urls_inbox")),
    path("", include("tickets.urls_ticket")),
    path("", include("tickets.urls_canned")),
    path("tickets/<int:number>/", agent.ticket_detail, name="ticket-detail"),
    path("tickets/<int:number>/live/", agent.ticket_thread_partial, name="ticket-live"),
    path("tickets/<int:number>/reply/", agent.ticket_reply, name="ticket-reply"),
    path("tickets/<int:number>/template/", agent.ticket_template_reply, name="ticket-template-reply"),
    path("tickets/<int:number>/escalations/", agent.ticket_escalations_partial, name="ticket-escalations"),
    path("attachments/<int:attachment_id>/", attachments.attachment_file, name="attachment-file"),
    path("notifications/", notifications.notifications_list, name="notifications"),
    path("notifications/unread/", notifications.notifications_badge, name="notifications-badge"),
    path("notifications/read/", notifications.notifications_read_all, name="notifications-read"),
    path("notifications/<int:notification_id>/open/", notifications.notification_open, name="notification-open"),
    path("contacts/<int:contact_id>/", contacts.contact_detail, name="contact-detail"),
    path("contacts/<int:contact_id>/merge/", contacts.contact_merge, name="contact-merge"),
    path("webhooks/<slug:kind>/<int:account_id>/", webhooks.platform_webhook, name="webhook"),
]
