"""Liveness: is the burst of frames a live person answering this challenge now (not a photo, not a replay)?"""

from models.liveness.burst import Burst, BurstResult, check_burst
from models.liveness.challenge import (
    DIRECTION,
    INSTRUCTIONS,
    Action,
    Challenge,
    ChallengeLedger,
    Redemption,
    Terms,
)
from models.liveness.colours import ColourSequence, random_sequence
from models.liveness.decision import LivenessLimits, LivenessVerdict, Track, judge, track_subject

__all__ = [
    "DIRECTION",
    "INSTRUCTIONS",
    "Action",
    "Burst",
    "BurstResult",
    "Challenge",
    "ChallengeLedger",
    "ColourSequence",
    "LivenessLimits",
    "LivenessVerdict",
    "Redemption",
    "Terms",
    "Track",
    "check_burst",
    "judge",
    "random_sequence",
    "track_subject",
]
