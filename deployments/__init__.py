"""Ray Serve deployments (one module each) and the application builder that binds them (``app.py``)."""
