from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Tickets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        from tickets.models import Attachment
        from tickets.services.attachments import attachment_file_remove

        # A signal, not a service: rows also go by cascade (a ticket or a contact deleted), which no service sees.
        post_delete.connect(attachment_file_remove, sender=Attachment, dispatch_uid="attachment_file_remove")
