"""The built-in ``demo`` dataset: a simulated DVS128 recording gestures, in DvsGesture's layout."""
