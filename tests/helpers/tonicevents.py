"""Events as Tonic takes them, and the real recordings the Tonic comparisons run on (the filters'
and the representations' tests)."""

import numpy as np

# Tonic's structured events (fields x, y, t, p), in the two column types its datasets use
TONIC_INT = np.dtype([("x", "<i8"), ("y", "<i8"), ("t", "<i8"), ("p", "<i8")])
TONIC_SMALL = np.dtype([("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "?")])

# every real recording of ../shared/data/real with events, and its sensor (H, W)
SLAYER = "nmnist/slayerPytorch_NMNISTsmall/"
REAL = ([("nmnist/tonic/sample_nmnist.bin", (34, 34))]
        + [(SLAYER + f, (34, 34)) for f in ("1.bs2", "2.bs2", "3.bs2", "4.bs2", "5.bs2", "6.bs2", "8.bs2",
                                             "60001.bs2")]
        + [("aedat2_jaer/dvs128/alex_walking_again.aedat", (128, 128)),
           ("aedat2_jaer/davis240c/IMU_translBoxes.aedat", (180, 240)),
           ("aedat4/sample.aedat4", (240, 320))])


def to_tonic(ev, dtype=TONIC_INT):
    """Our events as Tonic's structured array of ``dtype``."""
    out = np.empty(ev.size, dtype)
    for f in ("x", "y", "t", "p"):
        out[f] = ev[f]
    return out
