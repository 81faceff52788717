"""HTTP faces of the tickets app: platform webhooks and the agent UI."""
