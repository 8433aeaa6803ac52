"""Turning a consenting student's photos into templates and vectors; re-embedding them for a new model."""
