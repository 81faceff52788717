"""The admin of the policies app: business calendars, and SLA policies with their targets.

Importing the modules registers their ModelAdmins; Django's admin autodiscovery imports this package.
"""

from policies.admin.calendars import BusinessCalendarAdmin
from policies.admin.sla import SlaPolicyAdmin

__all__ = ["BusinessCalendarAdmin", "SlaPolicyAdmin"]
