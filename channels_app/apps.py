from django.apps import AppConfig


class ChannelsAppConfig(AppConfig):
    name = "channels_app"
    verbose_name = "Live events"

    def ready(self) -> None:
        from channels_app import bus
        from tickets import events

        events.subscribe(bus.ticket_event_publish_on_commit)
        bus.connect_permission_signals()
