"""The active challenges a kiosk can ask for: the head turns, what the kiosk says, and which way the nose
moves.

The single-use nonces that bind an answer to one request are check-in state in Redis, not model code:
``app.services.checkin.service.challenges``.
"""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    turn_left = "turn_left"
    turn_right = "turn_right"


#: What the kiosk shows. "Left" is the student's own left: in the camera's unmirrored picture the nose then
#: moves to the picture's right (+x), which is what ``DIRECTION`` encodes.
INSTRUCTIONS = {
    Action.turn_left: "Turn your head slowly to your left",
    Action.turn_right: "Turn your head slowly to your right",
}
DIRECTION = {Action.turn_left: 1.0, Action.turn_right: -1.0}
