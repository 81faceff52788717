"""Benchmarks: scripts that print figures about the helpdesk. They never assert timings."""
