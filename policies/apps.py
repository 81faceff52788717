from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "policies"
    verbose_name = "SLA and escalation policies"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from policies.services.clocks import clocks_on_ticket_event
        from policies.services.rulebook import connect_rule_signals
        from tickets import events

        # Clocks move in the transaction of the ticket event that moves them.
        events.subscribe(clocks_on_ticket_event, state=True)
        connect_rule_signals()
