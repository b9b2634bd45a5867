"""How a PLIF neuron fires and resets: one small immutable record that every layer, backend and
kernel entry point takes whole (:class:`Firing`), instead of three loose numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Firing", "PAPER"]


@dataclass(frozen=True)
class Firing:
    """``v_th``: the threshold (``s = [v >= v_th]``); ``alpha``: the ATan surrogate's sharpness
    (its gradient ``alpha / (2 (1 + (pi/2 alpha u)^2))`` at ``u = v - v_th``); ``detach_reset``:
    the hard reset ``v <- v (1 - s)`` takes the spike out of the graph (the paper's choice)."""

    v_th: float = 1.0
    alpha: float = 2.0
    detach_reset: bool = True

    def __post_init__(self):
        for name in ("v_th", "alpha"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"Firing: {name} must be a finite number, got {value!r}")
            object.__setattr__(self, name, float(value))
        if not self.alpha > 0:
            raise ValueError(f"Firing: alpha must be > 0, got {self.alpha}")
        if not isinstance(self.detach_reset, bool):
            raise ValueError(f"Firing: detach_reset must be true or false, got {self.detach_reset!r}")


#: the paper's neuron: threshold 1, ATan with alpha = 2, detached reset (SpikingJelly's defaults)
PAPER = Firing()
