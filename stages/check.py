"""DVC stage `check`: every param of params.yaml (the whole file) -> data/params.json and
data/params/<stage>.json.

Runs first on every `dvc repro` whose params.yaml differs from one already checked, in well
under a second: an unknown key (a typo such as `frames.TT`), an out-of-range value or a filter
pixel outside the sensor fails the run even when no other stage would rerun. Its outputs are
the params as the stages read them, every default filled in (data/params.json), and each
stage's slice of them (data/params/<stage>.json: the params it lists in dvc.yaml). Each stage
depends on its slice, so `dvc repro frames` (or any stage) runs this check first, while a
param of one stage changes that stage's slice alone and reruns no other stage.
"""

from pipeline.core.atomic import atomic_path, write_json
from pipeline.core.errors import report_errors
from pipeline.params import STAGE_SECTIONS, load_params, stage_slice

if __name__ == "__main__":
    with report_errors("check"):
        p = load_params("params.yaml")
        with atomic_path("data/params") as tmp:
            tmp.mkdir()
            for stage in STAGE_SECTIONS:
                write_json(tmp / f"{stage}.json", stage_slice(p, stage))
        write_json("data/params.json", p.model_dump(mode="json"))
        T, C, H, W = p.frame_shape()
        print(f"check: params.yaml is valid: dataset {p.dataset}, frames {T} x {C} x {H} x {W}")
