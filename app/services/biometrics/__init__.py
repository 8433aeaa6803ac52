"""Faces and vectors: the ports to the models and the index (``ports``), their use cases, the stores that keep
templates and vectors in step, and the adapters outside Serve (``in_process``, ``job_index``)."""
