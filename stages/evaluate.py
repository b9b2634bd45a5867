"""DVC stage `evaluate`: models/model.pt + data/frames/test.h5 -> results/metrics.json, confusion."""

from pipeline.core.errors import report_errors
from pipeline.evaluate.stage import evaluate
from pipeline.core.params import load_params

if __name__ == "__main__":
    with report_errors("evaluate"):
        load_params("params.yaml")       # reads no param, but a bad file stops every stage
        evaluate("models/model.pt", "data/frames/test.h5", "results/train.json", "results/metrics.json",
                 "results/confusion.csv")
