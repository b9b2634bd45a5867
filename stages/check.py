"""DVC stage `check`: every param of params.yaml (the whole file) -> data/params.json.

Runs first on every `dvc repro` whose params.yaml differs from one already checked, in well
under a second: an unknown key (a typo such as `frames.TT`), an out-of-range value or a filter
pixel outside the sensor fails the run even when no other stage would rerun. Its output is
the params as the stages read them, every default filled in.
"""

from pipeline.core.atomic import write_json
from pipeline.core.errors import report_errors
from pipeline.core.params import load_params

if __name__ == "__main__":
    with report_errors("check"):
        p = load_params("params.yaml")
        write_json("data/params.json", p.model_dump(mode="json"))
        T, C, H, W = p.frame_shape()
        print(f"check: params.yaml is valid: dataset {p.dataset}, frames {T} x {C} x {H} x {W}")
