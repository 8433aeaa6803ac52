"""Deterministic, offline build steps that turn shipped model files into the graphs we serve."""
