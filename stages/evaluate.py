"""DVC stage `evaluate`: models/model.pt + data/frames/test.h5 -> results/metrics.json, confusion."""

from pipeline.evaluate import evaluate

if __name__ == "__main__":
    evaluate("models/model.pt", "data/frames/test.h5", "results/train.json", "results/metrics.json",
             "results/confusion.csv")
