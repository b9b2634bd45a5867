"""DVC stage `train`: params `model.*`, `train.*`; data/frames/{train,test}.h5 -> models/, results/train*.

One process: `python stages/train.py`. DDP: `torchrun --nproc_per_node N stages/train.py`
(or `train.nproc: N`, which relaunches this script under torchrun on this machine).
An interrupted run resumes from checkpoints/train.pt, which is not a DVC output (DVC deletes
a stage's outputs before running it) and is git-ignored.
"""

from pipeline.train.data import H5Frames
from pipeline.train.distributed import relaunch_under_torchrun
from pipeline.core.errors import report_errors
from pipeline.params import load_params
from pipeline.train.stage import train

if __name__ == "__main__":
    with report_errors("train"):
        p = load_params("params.yaml")
        relaunch_under_torchrun(p.train.nproc)
        classes = H5Frames("data/frames/train.h5").attrs["classes"]
        train("data/frames/train.h5", "data/frames/test.h5", classes, p.model, p.train, "models",
              "results/train_log.csv", "results/train.json", resume="checkpoints/train.pt",
              tau_csv="results/tau.csv")
