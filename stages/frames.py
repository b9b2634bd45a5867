"""DVC stage `frames`: params `dataset`, `frames`; data/raw -> data/frames/{train,test}.h5."""

from pipeline.build import make_frames
from pipeline.params import load_params

if __name__ == "__main__":
    make_frames(load_params("params.yaml"), "data/raw", "data/frames")
