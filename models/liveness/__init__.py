"""Liveness: is the burst of frames a live person answering this challenge now (not a photo, not a replay)?"""

from models.liveness.challenge import DIRECTION, INSTRUCTIONS, Action, Challenge, ChallengeLedger, Redemption
from models.liveness.decision import LivenessLimits, LivenessVerdict, Track, judge, track_subject

__all__ = [
    "DIRECTION",
    "INSTRUCTIONS",
    "Action",
    "Challenge",
    "ChallengeLedger",
    "LivenessLimits",
    "LivenessVerdict",
    "Redemption",
    "Track",
    "judge",
    "track_subject",
]
