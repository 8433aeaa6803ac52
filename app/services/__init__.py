"""Domain services: what the API does, independent of HTTP and of Ray (the models reached through
``FaceModels``, the vectors through ``VectorIndex``: app/services/biometrics/ports.py)."""
