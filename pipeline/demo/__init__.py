"""The built-in ``demo`` dataset: a simulated DVS128 recording gestures, in DvsGesture's layout.

Only the class list lives here: the dataset registry (which every stage imports) needs it,
and it must not pull in the simulator.
"""

CLASSES = (
    "rotate_clockwise",
    "rotate_counter_clockwise",
    "swipe_right",
    "swipe_left",
    "swipe_down",
    "swipe_up",
    "clap",
    "drum",
)
