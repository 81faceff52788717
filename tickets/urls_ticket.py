"""URLs of the ticket page's actions (assign, status, priority, tags, notes) and its contact panel."""

from django.urls import path

from tickets.views import ticket_actions

urlpatterns = [
    path("tickets/<int:number>/assign/", ticket_actions.ticket_assign, name="ticket-assign"),
    path("tickets/<int:number>/status/", ticket_actions.ticket_status, name="ticket-status"),
    path("tickets/<int:number>/priority/", ticket_actions.ticket_priority, name="ticket-priority"),
    path("tickets/<int:number>/tags/add/", ticket_actions.ticket_tag_add, name="ticket-tag-add"),
    path("tickets/<int:number>/tags/remove/", ticket_actions.ticket_tag_remove, name="ticket-tag-remove"),
    path("tickets/<int:number>/properties/", ticket_actions.ticket_properties_partial, name="ticket-properties"),
    path("tickets/<int:number>/note/", ticket_actions.ticket_note, name="ticket-note"),
    path("tickets/<int:number>/orders/", ticket_actions.ticket_orders, name="ticket-orders"),
]
