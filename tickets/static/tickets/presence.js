// Presence and typing on a ticket page, over live.js's websocket. Filled in by its owner.
