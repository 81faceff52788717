"""Writes. Every change to tickets goes through a function here; each runs in one transaction and records
its TicketEvent (see tickets/events.py for how other apps hear of it)."""
