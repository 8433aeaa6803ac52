"""One router per resource; each only parses HTTP, calls a service and shapes the answer."""
