"""HTTP layer: thin FastAPI routers, their schemas, dependencies and error handlers."""
