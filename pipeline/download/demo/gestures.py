"""Hand-gesture scenes for the demo sensor: blob trajectories for each class.

Three pairs of classes differ only in the direction of time (clockwise vs counter-clockwise
rotation, swipe left vs right, swipe up vs down): a model that ignores temporal order
cannot tell them apart from the set of pixels that fire.
"""

from __future__ import annotations

import numpy as np

from . import CLASSES
BLOBS = 2  # at most two hands on screen


def _fade(u: np.ndarray, edge: float = 0.08) -> np.ndarray:
    """Amplitude envelope over normalised time u in [0, 1]: the hand enters and leaves."""
    return np.clip(np.minimum(u, 1.0 - u) / edge, 0.0, 1.0)


def gesture(label: int, steps: int, rng: np.random.Generator, sensor_size=(128, 128)) -> np.ndarray:
    """Blob parameters ``(steps, BLOBS, 4)`` = (cx, cy, sigma, amplitude) for one gesture."""
    H, W = sensor_size
    u = np.linspace(0.0, 1.0, steps)
    cx = W / 2 + rng.uniform(-0.08, 0.08) * W
    cy = H / 2 + rng.uniform(-0.08, 0.08) * H
    size = rng.uniform(0.85, 1.15)
    sigma = 0.055 * W * size
    amp = rng.uniform(1.2, 2.0) * _fade(u)
    reach = 0.3 * W * size
    out = np.zeros((steps, BLOBS, 4))
    out[:, :, 2] = sigma
    name = CLASSES[label]
    if name.startswith("rotate"):
        turns = rng.uniform(1.5, 2.5)
        direction = 1.0 if name == "rotate_clockwise" else -1.0  # y points down: +angle = clockwise
        phase = rng.uniform(0, 2 * np.pi) + direction * 2 * np.pi * turns * u
        out[:, 0, 0] = cx + reach * np.cos(phase)
        out[:, 0, 1] = cy + reach * np.sin(phase)
        out[:, 0, 3] = amp
    elif name.startswith("swipe"):
        swipes = int(rng.integers(2, 4))
        v = (u * swipes) % 1.0                     # each swipe crosses once; the hand returns unseen
        pos = -reach + 2 * reach * v
        along, across = (0, 1) if name in ("swipe_right", "swipe_left") else (1, 0)
        sign = 1.0 if name in ("swipe_right", "swipe_down") else -1.0
        centre = (cx, cy)
        out[:, 0, along] = centre[along] + sign * pos
        out[:, 0, across] = centre[across] + rng.uniform(-0.05, 0.05) * W
        out[:, 0, 3] = amp * _fade(v, 0.15)
    elif name == "clap":
        claps = rng.uniform(3, 5)
        gap = reach * (0.25 + 0.75 * np.abs(np.cos(np.pi * claps * u)))
        for b, s in enumerate((-1.0, 1.0)):
            out[:, b, 0] = cx + s * gap
            out[:, b, 1] = cy
            out[:, b, 3] = amp
    elif name == "drum":
        beats = rng.uniform(3, 5)
        for b, s in enumerate((-1.0, 1.0)):
            out[:, b, 0] = cx + s * 0.5 * reach
            out[:, b, 1] = cy + s * 0.5 * reach * np.sin(2 * np.pi * beats * u)
            out[:, b, 3] = amp
    else:  # pragma: no cover - CLASSES and the branches above are kept in step by tests
        raise ValueError(f"unknown gesture {name}")
    return out
