"""The built-in ``demo`` dataset: a simulated DVS128 recording gestures, in DvsGesture's layout.

Its classes are the registry's (:data:`pipeline.datasets.DEMO_CLASSES`), which every stage
reads without the simulator.
"""

from ...datasets import DEMO_CLASSES as CLASSES

__all__ = ["CLASSES"]
