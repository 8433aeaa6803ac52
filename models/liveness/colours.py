"""The colour part of a challenge: the sequence the kiosk's screen shows while it captures the burst.

Why colours: a head turn can be recorded once and replayed; light chosen at random when the challenge is
issued cannot. The kiosk fills its screen with ``sequence[i]`` during ``[i * slot_ms, (i + 1) * slot_ms)``
from the start of its capture, and a live face 30-60 cm away reflects that light
(``models.liveness.reflection`` checks it); a recording made before the sequence existed carries none of it,
or another sequence's.

The palette is the six saturated colours a display can show at full strength plus white: their chromaticities
sit on a hexagon around white (``CHROMA``), as far from one another as a screen allows, so each slot moves the
face's colour in a clearly different direction. No two consecutive slots are equal, so every slot boundary
is a change the reflection must follow in time.
"""

from __future__ import annotations

import random
import re
import secrets
from dataclasses import dataclass

import numpy as np

#: Red, yellow, green, cyan, blue, magenta, white: the display's primaries and secondaries at full strength.
PALETTE = ("#ff0000", "#ffff00", "#00ff00", "#00ffff", "#0000ff", "#ff00ff", "#ffffff")
_HEX = re.compile(r"#[0-9a-f]{6}")


@dataclass(frozen=True, slots=True)
class ColourSequence:
    """What the screen shows, slot by slot (``#rrggbb``), from the start of the kiosk's capture."""

    sequence: tuple[str, ...]
    slot_ms: int

    def __post_init__(self) -> None:
        if not self.sequence or self.slot_ms <= 0:
            raise ValueError("a colour sequence needs at least one slot and a positive slot length")
        if any(_HEX.fullmatch(colour) is None for colour in self.sequence):
            raise ValueError(f"colours are #rrggbb in lower case: {self.sequence}")

    @property
    def duration_ms(self) -> int:
        return len(self.sequence) * self.slot_ms

    def to_json(self) -> dict[str, object]:
        return {"sequence": list(self.sequence), "slot_ms": self.slot_ms}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> ColourSequence:
        return cls(tuple(str(colour) for colour in data["sequence"]), int(data["slot_ms"]))  # type: ignore[attr-defined, call-overload]


def random_sequence(slots: int, slot_ms: int, rng: random.Random | None = None) -> ColourSequence:
    """A fresh sequence, no colour twice in a row; from ``secrets`` (unpredictable to a client) unless a
    seeded ``rng`` is given (the evaluation, to be reproducible)."""
    pick = rng or secrets.SystemRandom()
    chosen: list[str] = []
    for _ in range(slots):
        chosen.append(pick.choice([colour for colour in PALETTE if not chosen or colour != chosen[-1]]))
    return ColourSequence(tuple(chosen), slot_ms)


def linear_rgb(colour: str) -> np.ndarray:
    """The colour as linear light (R, G, B in 0..1): what the screen emits, before any gamma."""
    srgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.float64) / 255.0
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def chroma(colour: str) -> np.ndarray:
    """How the colour moves a lit surface's log-chromaticity ``(log R/G, log B/G)``, to first order: under
    ambient light balanced to grey (the camera's white balance), extra light ``S`` adds ``S_R - S_G`` and
    ``S_B - S_G`` in units of its strength. White adds light but no chroma (0, 0)."""
    red, green, blue = linear_rgb(colour)
    return np.array([red - green, blue - green])
