"""The colour layer's own evaluation: `python -m models.eval colour`.

What can honestly be measured without a kiosk. A recording cannot carry the reflection of a colour sequence
chosen when its challenge was issued, so no recorded clip is a bona fide presentation of this layer. What can
be simulated:

- ``lit`` (must pass): a real live clip with a *synthetic* reflection of the issued sequence applied to the
  face (``models.eval.clips.lit_by_screen``: linear light multiplied on the head, weighted towards skin)
  at several strengths, one version also lighting the whole room weakly (``lit_0.1_room``). Passing proves
  the detector finds such a reflection in time through real head motion, kiosk resizing and JPEG; it does
  not prove a real kiosk screen lights a real face that strongly (docs/COLOUR_CHALLENGE.md);
- ``unlit`` (must fail): the same bursts with no reflection: a replayed or pre-recorded video, which cannot
  know the sequence;
- ``earlier`` (must fail): the same bursts lit by another sequence: a recording of an earlier successful
  check-in, replayed under a new challenge;
- ``replay_glass`` (should fail): the real screen-replay attack clips with the issued sequence's light added
  over the whole frame (a replay device's glass reflecting the kiosk: face and on-screen background alike),
  with and without a camera white balance that follows the light.

Bursts are what the kiosk sends: the challenge's minimum, default and maximum frame counts at its interval,
frame k grabbed at ``k * interval`` plus a few ms of timer jitter (those are the times sent), showing the
light of a random 20-130 ms earlier (camera and display latency, one per burst) plus up to one camera frame
(33 ms, per frame: how old the video frame was when grabbed), each frame at most 640 px and JPEG-encoded
(``models.eval.recorded``; the light is applied to those frames and encoded once more). Thresholds are
chosen on the ``tune`` fold (sources alternate in sorted order) and reported on both.
"""

from __future__ import annotations

import itertools
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.core.config import Settings
from models.eval.clips import behind_glass, clip_paths, lit_by_screen, screen_light, white_balanced
from models.eval.liveness import BurstJudge
from models.eval.liveness_recorded import frame_counts, interval_ms
from models.eval.recorded import Recording, burst_indices, kiosk_frame, load_recording, video_paths
from models.liveness import ColourSequence, LivenessLimits, random_sequence, track_subject
from models.liveness.reflection import ColourCheck, colour_check
from models.types import Face

STRENGTHS = (0.05, 0.1, 0.2)  # the screen's white light as a share of the ambient light on the face
ROOM_SPILL = 0.3  # lit_0.1_room: the rest of the picture gets this share of the face's light
GLASS = (0.02, 0.05, 0.1)  # the glass's reflected white as a share of the replay screen's full scale
WHITE_BALANCE = 0.5  # share of a colour cast the camera's white balance takes back, per frame
LAG_MS = (20.0, 130.0)  # camera + display latency of a burst
FRAME_AGE_MS = 33.0  # a grabbed video frame was captured up to one frame (30 fps) before the grab
JITTER_MS = 12.0  # the kiosk's timer: frames are grabbed this much after their planned time
SPECIES = ("lit", "unlit", "earlier", "replay_glass")
#: Threshold grid searched on the tune fold (min_colour_response, min_colour_correlation, min_colour_margin).
GRID = (
    (0.005, 0.01, 0.015, 0.02, 0.025, 0.03),
    (0.5, 0.6, 0.7, 0.8, 0.85, 0.9),
    (-0.05, 0.0, 0.05),
)

#: Lights one frame: (frame, its subject or None, the screen's linear RGB light at its exposure) -> frame.
Light = Callable[[np.ndarray, Face | None, np.ndarray], np.ndarray]
Thresholds = tuple[float, float, float]  # min_colour_response, min_colour_correlation, min_colour_margin


@dataclass(frozen=True, slots=True)
class Trial:
    """One burst judged by the colour layer, with the statistics the thresholds act on."""

    species: str
    variant: str
    source: str
    fold: str
    frames: int
    timing: bool  # too few usable frames or colours: refused whatever the thresholds
    correlation: float
    margin: float
    response: float
    reasons: tuple[str, ...]  # at the configured limits

    def accepted(self, response: float, correlation: float, margin: float) -> bool:
        return (
            not self.timing
            and self.response >= response
            and self.correlation >= correlation
            and self.margin >= margin
        )

    @classmethod
    def of(cls, species: str, variant: str, source: str, fold: str, frames: int, check: ColourCheck) -> Trial:
        metrics = check.metrics
        return cls(
            species,
            variant,
            source,
            fold,
            frames,
            "colour_timing" in check.reasons,
            metrics.get("colour_correlation", -1.0),
            metrics.get("colour_margin", -2.0),
            metrics.get("colour_response", 0.0),
            tuple(check.reasons),
        )


def run_colour(
    faces_dir: Path,
    *,
    clips: Sequence[Path] = (),
    replays: Sequence[Path] = (),
    stride_s: float = 1.5,
    seed: int = 0,
    limits: LivenessLimits | None = None,
) -> dict[str, object]:
    """Every trial over the bona fide clips (``clips``: default the real ones under ``liveness/bona_fide``
    and the generated ones of ``models.eval.clips``) and the replay attacks (``replays``: default
    ``liveness/attacks``); the figures at the configured limits and at the thresholds the tune fold picks."""
    started = time.perf_counter()
    limits = limits or LivenessLimits()
    judge = BurstJudge(limits)
    rng, noise = random.Random(seed), np.random.default_rng(seed)  # noqa: S311 - reproducible, not secret
    counts, interval = frame_counts(), interval_ms()
    slots, slot_ms = (int(Settings.model_fields[name].default) for name in ("colour_slots", "colour_slot_ms"))
    live = (
        video_paths(clips)
        if clips
        else [*video_paths([faces_dir / "liveness" / "bona_fide"]), *clip_paths(faces_dir)]
    )
    attacks = video_paths(replays) if replays else video_paths([faces_dir / "liveness" / "attacks"])
    trials: list[Trial] = []
    for sources, is_live in ((sorted(live), True), (sorted(attacks), False)):
        for index, path in enumerate(sources):
            recording = load_recording(path)
            fold = "tune" if index % 2 == 0 else "test"
            for start in np.arange(0.0, float(recording.times_s[-1]), stride_s):
                indices = burst_indices(recording, float(start), counts[-1], interval)
                if indices is None:
                    break
                burst = _Burst(judge, recording, indices, interval, noise)
                issued, earlier = (random_sequence(slots, slot_ms, rng=rng) for _ in range(2))
                for species, variant, shown, light in _variants(is_live, issued, earlier):
                    frames, faces = burst.seen(judge, shown, light)
                    for count in counts:
                        track = track_subject(faces[:count], limits)
                        check = colour_check(
                            frames[:count], track.subjects, burst.times[:count], issued, limits
                        )
                        trials.append(Trial.of(species, variant, recording.label, fold, count, check))
    return _summary(trials, limits, counts, time.perf_counter() - started)


class _Burst:
    """One window of a recording as the kiosk grabs it: clean frames and their faces, the times it sends
    (every interval plus timer jitter), and how late the screen's light reaches the camera."""

    def __init__(
        self,
        judge: BurstJudge,
        recording: Recording,
        indices: np.ndarray,
        interval: int,
        noise: np.random.Generator,
    ) -> None:
        self.clean = [recording.frames[i] for i in indices]
        self.faces = judge.detect(self.clean)
        self.times = [k * interval + float(noise.uniform(0, JITTER_MS)) for k in range(len(indices))]
        lag = float(noise.uniform(*LAG_MS))
        self.lags = [lag + float(noise.uniform(0, FRAME_AGE_MS)) for _ in indices]

    def seen(
        self, judge: BurstJudge, shown: ColourSequence | None, light: Light | None
    ) -> tuple[list[np.ndarray], list[list[Face]]]:
        """The frames as the kiosk sends them under ``shown``'s light, and their faces, detected again
        (``None``: the clean frames)."""
        if shown is None or light is None:
            return self.clean, self.faces
        frames = []
        for frame, found, at, lag in zip(self.clean, self.faces, self.times, self.lags, strict=True):
            face = max(found, key=lambda f: f.area) if found else None
            frames.append(kiosk_frame(light(frame, face, screen_light(shown, at, lag))))
        return frames, judge.detect(frames)


def _variants(
    live: bool, issued: ColourSequence, earlier: ColourSequence
) -> list[tuple[str, str, ColourSequence | None, Light | None]]:
    """(species, variant, the sequence whose light the camera saw, how it lights a frame)."""

    def lit(strength: float, spill: float = 0.0) -> Light:
        return lambda frame, face, light: (
            frame if face is None else lit_by_screen(frame, face, light, strength, spill)
        )

    def glass(strength: float, balanced: bool = False) -> Light:
        def seen(frame: np.ndarray, face: Face | None, light: np.ndarray) -> np.ndarray:
            glared = behind_glass(frame, light, strength)
            return white_balanced(glared, frame, WHITE_BALANCE) if balanced else glared

        return seen

    if not live:
        return [
            *(("replay_glass", f"glass_{s}", issued, glass(s)) for s in GLASS),
            ("replay_glass", "glass_0.05_balanced", issued, glass(0.05, balanced=True)),
        ]
    return [
        *(("lit", f"lit_{s}", issued, lit(s)) for s in STRENGTHS),
        ("lit", "lit_0.1_room", issued, lit(0.1, ROOM_SPILL)),
        ("unlit", "unlit", None, None),
        *(("earlier", f"earlier_{s}", earlier, lit(s)) for s in STRENGTHS),
    ]


def _rate(trials: Sequence[Trial], thresholds: Thresholds, *, bona_fide: bool) -> float:
    """BPCER for bona fide trials (refused / all), APCER for attacks (accepted / all)."""
    if not trials:
        return float("nan")
    accepted = float(np.mean([t.accepted(*thresholds) for t in trials]))
    return round(1 - accepted if bona_fide else accepted, 4)


def choose_thresholds(trials: Sequence[Trial], default: int) -> Thresholds:
    """On the tune fold at the default frame count: the grid point that accepts no ``unlit`` or ``earlier``
    burst and refuses the fewest ``lit`` ones; among equals, the strictest (margin, then correlation, then
    response)."""
    tune = [t for t in trials if t.fold == "tune" and t.frames == default]
    lit = [t for t in tune if t.species == "lit"]
    attacks = [t for t in tune if t.species in ("unlit", "earlier")]
    feasible = [g for g in itertools.product(*GRID) if _rate(attacks, g, bona_fide=False) == 0]
    if not feasible:
        raise ValueError("no grid point refuses every unlit and earlier burst of the tune fold")
    return min(feasible, key=lambda g: (_rate(lit, g, bona_fide=True), -g[2], -g[1], -g[0]))


def _summary(
    trials: list[Trial], limits: LivenessLimits, counts: tuple[int, int, int], seconds: float
) -> dict[str, object]:
    default = counts[1]
    configured = (limits.min_colour_response, limits.min_colour_correlation, limits.min_colour_margin)
    chosen = choose_thresholds(trials, default)
    rows = []
    for species, variant in dict.fromkeys((t.species, t.variant) for t in trials):
        items = [t for t in trials if t.variant == variant]
        judged = [t for t in items if t.frames == default and not t.timing]
        reasons = Counter(r for t in items if t.frames == default for r in t.reasons)
        row: dict[str, object] = {
            "species": species,
            "variant": variant,
            "error": "BPCER" if species == "lit" else "APCER",
            "configured": _rates(items, configured, counts, bona_fide=species == "lit"),
            "chosen_on_tune": _rates(items, chosen, counts, bona_fide=species == "lit"),
            "median": {
                name: round(float(np.median([getattr(t, name) for t in judged])), 4) if judged else None
                for name in ("correlation", "margin", "response")
            },
            "reasons": dict(reasons.most_common()),
            "by_source": {
                source: _rate(
                    [t for t in items if t.source == source and t.frames == default],
                    configured,
                    bona_fide=species == "lit",
                )
                for source in sorted({t.source for t in items})
            },
        }
        rows.append(row)
    names = ("min_colour_response", "min_colour_correlation", "min_colour_margin")
    return {
        "frames": {"min": counts[0], "default": default, "max": counts[2], "interval_ms": interval_ms()},
        "colours": {
            name: int(Settings.model_fields[name].default) for name in ("colour_slots", "colour_slot_ms")
        },
        "limits": {
            name: float(getattr(limits, name)) for name in limits.__dataclass_fields__ if "colour" in name
        },
        "configured": dict(zip(names, configured, strict=True)),
        "chosen_on_tune": dict(zip(names, chosen, strict=True)),
        "sources": {fold: sorted({t.source for t in trials if t.fold == fold}) for fold in ("tune", "test")},
        "rows": rows,
        "trials": len(trials),
        "seconds": round(seconds, 1),
    }


def _rates(
    items: Sequence[Trial], thresholds: Thresholds, counts: tuple[int, int, int], *, bona_fide: bool
) -> dict[str, object]:
    """The error rate at the default frame count per fold (with how many bursts), and per frame count."""
    rates: dict[str, object] = {}
    for fold in ("tune", "test"):
        part = [t for t in items if t.fold == fold and t.frames == counts[1]]
        rates[fold] = {"count": len(part), "rate": _rate(part, thresholds, bona_fide=bona_fide)}
    rates["by_frames"] = {
        str(c): _rate([t for t in items if t.frames == c], thresholds, bona_fide=bona_fide) for c in counts
    }
    return rates
