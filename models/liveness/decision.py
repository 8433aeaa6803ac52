"""One liveness decision from a burst: the subject tracked across frames, the challenge answered in 3-D, and
one person throughout. Pure code over landmarks and similarities, so it is tested and evaluated without Ray.

Reasons are stable codes (the kiosk maps them to what the student should do):
- ``no_face`` / ``face_lost``: no subject, or the subject missing from too many frames;
- ``multiple_faces``: a second face nearly as large as the subject (someone else in the shot);
- ``inconsistent_track``: the subject jumps or changes size between frames (spliced frames);
- ``different_faces``: the frames do not show one person (their embeddings disagree);
- ``no_motion``: nothing moved (a still photo, or the student did not move);
- ``wrong_direction``: the head turned, the other way;
- ``challenge_not_performed``: something moved, but not the turn asked for (too small, or only back to
  frontal from the other side);
- ``planar_motion``: the asked turn seemed done, but the face's texture moved as one flat picture would
  (``models.liveness.flow``), or could not be tracked (fail closed);
- ``colour_not_reflected`` / ``colour_mismatch`` / ``colour_timing`` (the colour layer, when the challenge
  lit the face; ``models.liveness.reflection``): the face did not respond to the screen's light enough to
  tell; it responded, but not following this challenge's sequence (a recording made under an earlier one);
  too few usable frames or colours to judge.

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
from models.liveness.geometry import directed_turn, image_motion, nose_parallax, side_reach
from models.liveness.reflection import ColourCheck, colour_metrics
from models.liveness.screen import ScreenCues
from models.types import Face

#: Nose parallax (inter-ocular units) beyond which a frame's landmarks are not a head's (see ``judge``).
MAX_PLAUSIBLE_PARALLAX = 1.0


@pydantic_dataclass(frozen=True, slots=True, config=ConfigDict(extra="forbid"))
class LivenessLimits:
    """The operating point (the Liveness deployment's ``user_config``, validated against these bounds, so a
    mistyped or out-of-range limit is refused, never silently ignored); distances in inter-ocular units.
    Defaults are the thresholds `python -m models.eval liveness` reports in docs/LIVENESS.md."""

    # nose parallax moved this far in the asked direction ...
    min_turn: float = Field(default=0.065, gt=0, le=2)
    # ... and got this far past frontal on the asked side: the challenge is met
    min_reach: float = Field(default=0.05, ge=0, le=2)
    # face texture this far off one plane: not a flat picture
    min_texture_parallax: float = Field(default=0.1, gt=0, le=2)
    min_motion: float = Field(default=0.04, ge=0, le=2)  # below this nothing moved at all
    min_identity: float = Field(default=0.30, ge=-1, le=1)  # cosine between the probe frame and the others
    # share of frames allowed without the subject (blur, a blink of the detector)
    max_missing: float = Field(default=0.25, ge=0, le=1)
    # subject's centre may move this many box widths from one frame to the next (per frame of a gap where it
    # was not found) ...
    max_jump: float = Field(default=0.5, gt=0)
    # ... and change size by at most this factor (per frame)
    max_scale_change: float = Field(default=1.4, ge=1)
    # another face this large (area, vs the subject) is a second person
    second_face_ratio: float = Field(default=0.35, gt=0, le=1)
    min_frames: int = Field(default=3, ge=2)  # frames with the subject needed to judge at all
    # The probe's vector is the fusion of this many of the most frontal frames (models.fusion): one frame's
    # blur or blink weighs less in the search (docs/MODELS.md, "Fusion"); 1 uses the probe frame alone.
    fuse_frames: int = Field(default=3, ge=1, le=16)
    # Passive replay cues (models.liveness.screen): straight edges framing the face in this share of the
    # sampled frames is a device in view ...
    max_screen_border: float = Field(default=0.2, ge=0, le=1)
    # ... and a spectral peak of the face texture this strong is a filmed screen's moire
    max_screen_moire: float = Field(default=2.3, gt=0)
    # The colour layer (models.liveness.reflection; docs/COLOUR_CHALLENGE.md), when the challenge has colours;
    # the three thresholds are those `python -m models.eval colour` picks on its tune fold.
    colour_max_lag_ms: int = Field(default=150, ge=0, le=1000)  # camera + display latency tried, 0 up to this
    colour_guard_ms: int = Field(default=40, ge=0, le=500)  # frames this close to a colour change are skipped
    min_colour_frames: int = Field(default=6, ge=3)  # usable frames needed to judge ...
    min_colour_slots: int = Field(default=3, ge=2)  # ... showing at least this many different colours
    # the face's chroma (minus the background's) must move this much (RMS, log-chromaticity) ...
    min_colour_response: float = Field(default=0.02, ge=0, le=1)
    min_colour_correlation: float = Field(default=0.85, gt=0, le=1)  # ... with the shown sequence ...
    # ... and beat the best of many other random sequences by this much
    min_colour_margin: float = Field(default=-0.05, ge=-1, le=1)


@dataclass(frozen=True, slots=True)
class Track:
    """The subject of each frame (``None`` where it was not found) and which frames to embed."""

    subjects: list[Face | None]
    indices: list[int | None]  # the subject's position in its frame's list of faces
    probe: int | None  # the most frontal frame: its face is the one identified
    identity_frames: list[int]  # probe first, then the frames compared with it
    reasons: list[str] = field(default_factory=list)
    fused_frames: list[int] = field(default_factory=list)  # probe first, then the next most frontal

    @property
    def embedded_frames(self) -> list[int]:
        """Every frame whose face is embedded, each once: probe, identity frames, fused frames."""
        return list(dict.fromkeys([*self.identity_frames, *self.fused_frames]))


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
    if any(_jumped(before, after, limits) for before, after in itertools.pairwise(present.items())):
        _add(reasons, "inconsistent_track")
    order = list(present)
    turn = {i: abs(float(nose_parallax(present[i].landmarks)[0])) for i in order}
    frontal = sorted((i for i in order if turn[i] <= MAX_PLAUSIBLE_PARALLAX), key=turn.__getitem__)
    probe = frontal[0] if frontal else min(order, key=turn.__getitem__)
    others = [i for i in dict.fromkeys((order[0], order[len(order) // 2], order[-1])) if i != probe]
    fused = [probe, *(i for i in frontal if i != probe)][: limits.fuse_frames]
    return Track(subjects, indices, probe, [probe, *others], reasons, fused)


def judge(
    action: Action,
    track: Track,
    similarities: Sequence[float],
    texture: float | None,
    limits: LivenessLimits,
    screen: ScreenCues | None = None,
    colour: ColourCheck | None = None,
) -> LivenessVerdict:
    """The decision for ``track`` answering ``action``; ``similarities`` are the cosines between the probe's
    embedding and each of ``track.identity_frames[1:]``'s; ``texture`` is ``flow.texture_parallax``;
    ``screen`` the passive cues (``models.liveness.screen``); ``colour`` the colour layer's check (``None``
    when the challenge had no colours: the layer is skipped, and the metrics say so)."""
    reasons = list(track.reasons)
    faces = [face for face in track.subjects if face is not None]
    if len(faces) < 2:
        return LivenessVerdict(False, 0.0, action.value, reasons or ["face_lost"], {"frames": len(faces)})
    landmarks = [face.landmarks for face in faces]
    # A nose more than an inter-ocular distance off the eye-mouth plane is no head's: the four points were
    # nearly collinear (a face edge-on, or a landmark gone astray) and the plane mapping blew up.
    parallax = [nose_parallax(lm) for lm in landmarks]
    parallax_x = [float(p[0]) for p in parallax if float(np.abs(p).max()) <= MAX_PLAUSIBLE_PARALLAX]
    direction = DIRECTION[action]
    turn = directed_turn(parallax_x, direction)
    reach = side_reach(parallax_x, direction)
    opposite = directed_turn(parallax_x, -direction)
    opposite_reach = side_reach(parallax_x, -direction)
    motion = image_motion(landmarks)
    identity = min(similarities, default=1.0)
    if identity < limits.min_identity:
        _add(reasons, "different_faces")
    if turn < limits.min_turn or reach < limits.min_reach:
        if opposite >= limits.min_turn and opposite_reach >= limits.min_reach:
            _add(reasons, "wrong_direction")
        elif motion < limits.min_motion:
            _add(reasons, "no_motion")
        else:
            _add(reasons, "challenge_not_performed")
    elif texture is None or texture < limits.min_texture_parallax:
        _add(reasons, "planar_motion")
    passive = 1.0
    if screen is not None:
        if screen.border > limits.max_screen_border:
            _add(reasons, "screen_border")
        if screen.moire > limits.max_screen_moire:
            _add(reasons, "screen_moire")
        # 0.5 exactly at a limit, 1 a margin below it (a quarter of the limit: live faces' spectral peak sits
        # well above zero, so "no sign of a screen" is not zero)
        passive = min(
            _below(screen.border, limits.max_screen_border), _below(screen.moire, limits.max_screen_moire)
        )
    depth = 0.0 if texture is None else texture / (2 * limits.min_texture_parallax)
    asked = min(turn / (2 * limits.min_turn), reach / (2 * limits.min_reach) if limits.min_reach else 1.0)
    for reason in colour.reasons if colour is not None else []:
        _add(reasons, reason)
    lit = colour.score if colour is not None else 1.0  # the colour layer's own score; skipped: no limit
    score = float(np.clip(min(asked, depth, passive, lit), 0.0, 1.0))
    metrics = {
        "turn": round(turn, 4),
        "reach": round(reach, 4),
        "opposite_turn": round(opposite, 4),
        "texture_parallax": round(texture or 0.0, 4),
        "motion": round(motion, 4),
        "identity": round(identity, 4),
        "frames": len(faces),
        **(screen.metrics() if screen is not None else {}),
        **colour_metrics(colour),
    }
    return LivenessVerdict(not reasons, round(score, 4), action.value, reasons, metrics)


def _below(value: float, limit: float) -> float:
    """A cue's score: 0.5 at ``limit``, rising to 1 a quarter of the limit below it, falling to 0 above."""
    margin = max(limit / 4, 1e-6)
    return float(np.clip(0.5 + (limit - value) / (2 * margin), 0.0, 1.0))


def _jumped(before: tuple[int, Face], after: tuple[int, Face], limits: LivenessLimits) -> bool:
    """Whether the subject moved or resized more than a continuous head can between these two frames. The
    limits are per frame: across frames where the detector missed the face (a quick turn, motion blur) the
    head had that many frame intervals to move."""
    (first, was), (then, now) = before, after
    gap = then - first
    moved = float(np.linalg.norm(_centre(now) - _centre(was))) / max(was.width, now.width, 1.0)
    scale = np.sqrt(max(now.area, 1.0) / max(was.area, 1.0))
    bound = limits.max_scale_change**gap
    return moved > limits.max_jump * gap or not (1 / bound <= scale <= bound)


def _centre(face: Face) -> np.ndarray:
    return np.array([face.box[0] + face.box[2], face.box[1] + face.box[3]]) / 2


def _add(reasons: list[str], reason: str) -> None:
    if reason not in reasons:
        reasons.append(reason)
