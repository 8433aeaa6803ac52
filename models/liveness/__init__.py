"""Liveness: is the burst of frames a live person answering this challenge now (not a photo, not a screen)?

Replays of a burst that once passed are refused by check-in's single-use nonces
(``app.services.checkin.service.challenges``), not here.
"""

from models.liveness.burst import Burst, BurstResult, check_burst
from models.liveness.challenge import DIRECTION, INSTRUCTIONS, Action
from models.liveness.colours import ColourSequence, random_sequence
from models.liveness.decision import LivenessLimits, LivenessVerdict, Track, judge, track_subject

__all__ = [
    "DIRECTION",
    "INSTRUCTIONS",
    "Action",
    "Burst",
    "BurstResult",
    "ColourSequence",
    "LivenessLimits",
    "LivenessVerdict",
    "Track",
    "check_burst",
    "judge",
    "random_sequence",
    "track_subject",
]
