from django.apps import AppConfig


class ChannelsAppConfig(AppConfig):
    name = "channels_app"
    verbose_name = "Live events"

    def ready(self) -> None:
        from channels_app import bus, grants
        from tickets import events

        events.subscribe(bus.ticket_event_publish_on_commit)
        events.subscribe_notifications(bus.notifications_publish_on_commit)
        grants.connect_grant_signals()
