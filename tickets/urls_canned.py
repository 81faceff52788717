"""URLs of canned responses (saved replies): the reply box's picker, and an agent's own responses."""

from django.urls import path

from tickets.views import canned

urlpatterns = [
    path("tickets/<int:number>/canned/", canned.canned_picker, name="canned-picker"),
    path("tickets/<int:number>/canned/<int:canned_id>/", canned.canned_insert, name="canned-insert"),
    path("canned/", canned.canned_list, name="canned-list"),
    path("canned/new/", canned.canned_new, name="canned-new"),
    path("canned/<int:canned_id>/edit/", canned.canned_edit, name="canned-edit"),
    path("canned/<int:canned_id>/delete/", canned.canned_remove, name="canned-delete"),
]
