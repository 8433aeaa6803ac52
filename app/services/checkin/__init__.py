"""Taking attendance at a kiosk: by face (with liveness challenges) or by one-time code."""
