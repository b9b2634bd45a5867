"""A small DVS sensor emulator (Numba): moving Gaussian blobs -> log-intensity changes -> events.

Each pixel keeps the log intensity at its last event. Every simulation step the scene is
rendered (only around the blobs, where anything can change); when a pixel's log intensity
has moved by ``n`` contrast thresholds since its reference it emits ``n`` events of that
sign, with timestamps interpolated inside the step, and its reference moves by ``n``
thresholds. Thresholds vary per pixel (mismatch), and background-activity noise (Poisson,
uniform over pixels and polarity) is added, as on a real sensor.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ...core.events import EVENT_DTYPE


@numba.njit(cache=True)
def _emit(blobs, t_steps, bg, thr_on, thr_off, margin, cap, out_t, out_x, out_y, out_p):
    """blobs: (steps, nblobs, 4) = (cx, cy, sigma, amplitude); returns events written or -1."""
    H, W = thr_on.shape
    ref = np.full((H, W), math.log(bg))
    n = 0
    for s in range(1, blobs.shape[0]):
        # bounding box of every blob now and one step ago
        x0, y0, x1, y1 = W, H, 0, 0
        for r in (s - 1, s):
            for b in range(blobs.shape[1]):
                cx, cy, sg, amp = blobs[r, b, 0], blobs[r, b, 1], blobs[r, b, 2], blobs[r, b, 3]
                if amp <= 0.0:
                    continue
                x0 = min(x0, max(0, int(cx - margin * sg)))
                x1 = max(x1, min(W, int(cx + margin * sg) + 1))
                y0 = min(y0, max(0, int(cy - margin * sg)))
                y1 = max(y1, min(H, int(cy + margin * sg) + 1))
        t_a, t_b = t_steps[s - 1], t_steps[s]
        for y in range(y0, y1):
            for x in range(x0, x1):
                inten = bg
                for b in range(blobs.shape[1]):
                    cx, cy, sg, amp = blobs[s, b, 0], blobs[s, b, 1], blobs[s, b, 2], blobs[s, b, 3]
                    if amp > 0.0:
                        d2 = (x - cx) ** 2 + (y - cy) ** 2
                        inten += amp * math.exp(-d2 / (2.0 * sg * sg))
                delta = math.log(inten) - ref[y, x]
                thr = thr_on[y, x] if delta > 0 else thr_off[y, x]
                k = int(abs(delta) / thr)
                if k == 0:
                    continue
                if n + k > cap:
                    return -1
                frac = abs(delta) / thr
                for j in range(k):
                    out_t[n] = t_a + int((t_b - t_a) * (j + 1) / frac)
                    out_x[n] = x
                    out_y[n] = y
                    out_p[n] = 1 if delta > 0 else 0
                    n += 1
                ref[y, x] += k * thr if delta > 0 else -k * thr
    return n


def simulate(blobs: np.ndarray, t_steps: np.ndarray, rng: np.random.Generator, *,
             sensor_size=(128, 128), background=0.2, threshold=0.25, mismatch=0.03,
             noise_hz=2000.0) -> np.ndarray:
    """Events (sorted by time) of a DVS watching ``blobs`` over ``t_steps`` (µs)."""
    H, W = sensor_size
    thr_on = np.clip(rng.normal(threshold, mismatch, (H, W)), 0.05, None)
    thr_off = np.clip(rng.normal(threshold, mismatch, (H, W)), 0.05, None)
    blobs = np.ascontiguousarray(blobs, dtype=np.float64)
    t_steps = np.ascontiguousarray(t_steps, dtype=np.int64)
    cap = 1 << 16
    while True:
        bufs = (np.empty(cap, np.int64), np.empty(cap, np.uint16), np.empty(cap, np.uint16),
                np.empty(cap, np.uint8))
        n = _emit(blobs, t_steps, float(background), thr_on, thr_off, 4.0, cap, *bufs)
        if n >= 0:
            break
        cap *= 4
    duration = (t_steps[-1] - t_steps[0]) / 1e6
    m = rng.poisson(noise_hz * duration)
    ev = np.empty(n + m, dtype=EVENT_DTYPE)
    ev["t"] = np.concatenate([bufs[0][:n], rng.integers(t_steps[0], t_steps[-1], m)])
    ev["x"] = np.concatenate([bufs[1][:n], rng.integers(0, W, m)])
    ev["y"] = np.concatenate([bufs[2][:n], rng.integers(0, H, m)])
    ev["p"] = np.concatenate([bufs[3][:n], rng.integers(0, 2, m)])
    return ev[np.argsort(ev["t"], kind="stable")]
