"""Domain services: what the API does, independent of HTTP and of Ray (models reached via FacePipeline)."""
