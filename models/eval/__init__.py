"""Accuracy and speed of the face models on ../shared/faces: `python -m models.eval verify|identify|speed`."""
