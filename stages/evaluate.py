"""DVC stage `evaluate`: models/model.pt + data/frames/test.h5 -> results/evaluation.json (the full
record), results/metrics.json (its headline, DVC's metrics), results/confusion.csv."""

from pipeline.core.errors import report_errors
from pipeline.evaluate.stage import evaluate
from pipeline.params import load_params

if __name__ == "__main__":
    with report_errors("evaluate"):
        load_params("params.yaml")       # reads no param, but a bad file stops every stage
        evaluate("models/model.pt", "data/frames/test.h5", "results/train.json", "results/evaluation.json",
                 "results/confusion.csv", "results/metrics.json")
