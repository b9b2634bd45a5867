"""DVC stage `frames`: params `dataset`, `frames.*`; data/raw -> data/frames/{train,test}.h5."""

from pipeline.core.errors import report_errors
from pipeline.frames.stage import make_frames
from pipeline.params import load_params

if __name__ == "__main__":
    with report_errors("frames"):
        make_frames(load_params("params.yaml"), "data/raw", "data/frames")
