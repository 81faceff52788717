"""SLA and escalation policies, business calendars, per-ticket clocks and the engine (issues 4 and 5)."""
