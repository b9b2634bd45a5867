"""DVC stage `train`: params `model`, `train`; data/frames/train.h5 -> models/, results/train*."""

from pipeline.data import H5Frames
from pipeline.params import load_params
from pipeline.train import train

if __name__ == "__main__":
    p = load_params("params.yaml")
    classes = H5Frames("data/frames/train.h5").attrs["classes"]
    train("data/frames/train.h5", classes, p.model, p.train, "models", "results/train_log.csv",
          "results/train.json")
