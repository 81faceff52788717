"""The admin of the policies app: business calendars, SLA policies with their targets, escalation policies with
their levels, and the read-only record of escalation firings and webhook calls.

Importing the modules registers their ModelAdmins; Django's admin autodiscovery imports this package.
"""

from policies.admin.calendars import BusinessCalendarAdmin
from policies.admin.escalations import EscalationPolicyAdmin
from policies.admin.firings import EscalationFiringAdmin, WebhookCallAdmin
from policies.admin.sla import SlaPolicyAdmin

__all__ = [
    "BusinessCalendarAdmin",
    "EscalationFiringAdmin",
    "EscalationPolicyAdmin",
    "SlaPolicyAdmin",
    "WebhookCallAdmin",
]
