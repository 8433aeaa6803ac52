"""One liveness decision from a burst: the subject tracked across frames, the challenge answered in 3-D, and
one person throughout. Pure code over landmarks and similarities, so it is tested and evaluated without Ray.

Reasons are stable codes (the kiosk maps them to what the student should do):
- ``no_face`` / ``face_lost``: no subject, or the subject missing from too many frames;
- ``multiple_faces``: a second face nearly as large as the subject (someone else in the shot);
- ``inconsistent_track``: the subject jumps or changes size between frames (spliced frames);
- ``different_faces``: the frames do not show one person (their embeddings disagree);
- ``no_motion``: nothing moved (a still photo, or the student did not move);
- ``wrong_direction``: the head turned, the other way;
- ``challenge_not_performed``: something moved, but not the turn asked for;
- ``planar_motion``: the asked turn seemed done, but the face's texture moved as one flat picture would
  (``models.liveness.flow``), or could not be tracked (fail closed).

Two independent measurements must agree: the landmarks' nose parallax says the head turned the asked way
(``geometry``), the face texture says the motion was not flat (``flow``). The score is the weaker of the two,
each scaled so that 0.5 is its threshold.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass as pydantic_dataclass

from models.liveness.challenge import DIRECTION, Action
from models.liveness.geometry import directed_turn, image_motion, nose_parallax
from models.types import Face


@pydantic_dataclass(frozen=True, slots=True, config=ConfigDict(extra="forbid"))
class LivenessLimits:
    """The operating point (the Liveness deployment's ``user_config``, validated against these bounds, so a
    mistyped or out-of-range limit is refused, never silently ignored); distances in inter-ocular units.
    Defaults are the thresholds `python -m models.eval liveness` reports in docs/LIVENESS.md."""

    # nose parallax moved this far in the asked direction: the challenge is met
    min_turn: float = Field(0.065, gt=0, le=2)
    # face texture this far off one plane: not a flat picture
    min_texture_parallax: float = Field(0.2, gt=0, le=2)
    min_motion: float = Field(0.04, ge=0, le=2)  # below this nothing moved at all
    min_identity: float = Field(0.30, ge=-1, le=1)  # cosine between the probe frame and the others
    # share of frames allowed without the subject (blur, a blink of the detector)
    max_missing: float = Field(0.25, ge=0, le=1)
    # subject's centre may move this many box widths between consecutive frames ...
    max_jump: float = Field(0.5, gt=0)
    max_scale_change: float = Field(1.4, ge=1)  # ... and change size by at most this factor
    # another face this large (area, vs the subject) is a second person
    second_face_ratio: float = Field(0.35, gt=0, le=1)
    min_frames: int = Field(3, ge=2)  # frames with the subject needed to judge at all


@dataclass(frozen=True, slots=True)
class Track:
    """The subject of each frame (``None`` where it was not found) and which frames to embed."""

    subjects: list[Face | None]
    indices: list[int | None]  # the subject's position in its frame's list of faces
    probe: int | None  # the most frontal frame: its face is the one identified
    identity_frames: list[int]  # probe first, then the frames compared with it
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LivenessVerdict:
    passed: bool
    score: float  # 0..1; 0.5 is exactly the challenge threshold
    action: str
    reasons: list[str]
    metrics: dict[str, float]


def track_subject(frames: Sequence[Sequence[Face]], limits: LivenessLimits) -> Track:
    """Follow the largest face through the burst and check it is one continuous, unaccompanied subject."""
    subjects: list[Face | None] = []
    indices: list[int | None] = []
    reasons: list[str] = []
    for faces in frames:
        if not faces:
            subjects.append(None)
            indices.append(None)
            continue
        order = sorted(range(len(faces)), key=lambda i: faces[i].area, reverse=True)
        subjects.append(faces[order[0]])
        indices.append(order[0])
        if len(order) > 1 and faces[order[1]].area >= limits.second_face_ratio * faces[order[0]].area:
            _add(reasons, "multiple_faces")
    present = {i: face for i, face in enumerate(subjects) if face is not None}
    if not present:
        return Track(subjects, indices, None, [], ["no_face"])
    if len(frames) - len(present) > limits.max_missing * len(frames) or len(present) < limits.min_frames:
        _add(reasons, "face_lost")
    if any(_jumped(before, after, limits) for before, after in itertools.pairwise(present.values())):
        _add(reasons, "inconsistent_track")
    order = list(present)
    probe = min(order, key=lambda i: abs(float(nose_parallax(present[i].landmarks)[0])))
    others = [i for i in dict.fromkeys((order[0], order[len(order) // 2], order[-1])) if i != probe]
    return Track(subjects, indices, probe, [probe, *others], reasons)


def judge(
    action: Action,
    track: Track,
    similarities: Sequence[float],
    texture: float | None,
    limits: LivenessLimits,
) -> LivenessVerdict:
    """The decision for ``track`` answering ``action``; ``similarities`` are the cosines between the probe's
    embedding and each of ``track.identity_frames[1:]``'s; ``texture`` is ``flow.texture_parallax``."""
    reasons = list(track.reasons)
    faces = [face for face in track.subjects if face is not None]
    if len(faces) < 2:
        return LivenessVerdict(False, 0.0, action.value, reasons or ["face_lost"], {"frames": len(faces)})
    landmarks = [face.landmarks for face in faces]
    parallax_x = [float(nose_parallax(lm)[0]) for lm in landmarks]
    direction = DIRECTION[action]
    turn = directed_turn(parallax_x, direction)
    opposite = directed_turn(parallax_x, -direction)
    motion = image_motion(landmarks)
    identity = min(similarities, default=1.0)
    if identity < limits.min_identity:
        _add(reasons, "different_faces")
    if turn < limits.min_turn:
        if opposite >= limits.min_turn:
            _add(reasons, "wrong_direction")
        elif motion < limits.min_motion:
            _add(reasons, "no_motion")
        else:
            _add(reasons, "challenge_not_performed")
    elif texture is None or texture < limits.min_texture_parallax:
        _add(reasons, "planar_motion")
    depth = 0.0 if texture is None else texture / (2 * limits.min_texture_parallax)
    score = float(np.clip(min(turn / (2 * limits.min_turn), depth), 0.0, 1.0))
    metrics = {
        "turn": round(turn, 4),
        "opposite_turn": round(opposite, 4),
        "texture_parallax": round(texture or 0.0, 4),
        "motion": round(motion, 4),
        "identity": round(identity, 4),
        "frames": len(faces),
    }
    return LivenessVerdict(not reasons, round(score, 4), action.value, reasons, metrics)


def _jumped(before: Face, after: Face, limits: LivenessLimits) -> bool:
    moved = float(np.linalg.norm(_centre(after) - _centre(before))) / max(before.width, 1.0)
    scale = np.sqrt(max(after.area, 1.0) / max(before.area, 1.0))
    return moved > limits.max_jump or not (1 / limits.max_scale_change <= scale <= limits.max_scale_change)


def _centre(face: Face) -> np.ndarray:
    return np.array([face.box[0] + face.box[2], face.box[1] + face.box[3]]) / 2


def _add(reasons: list[str], reason: str) -> None:
    if reason not in reasons:
        reasons.append(reason)
