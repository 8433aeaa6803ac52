"""Request and response shapes of the school domain: create/update/public models per area.

They live outside ``app.api`` because services take the create/update models as their input (validated once,
at the edge) and return the public ones, and imports run one way: ``app.api`` -> services -> these.
"""
