"""The live-event bus and the agents' websocket consumer."""
