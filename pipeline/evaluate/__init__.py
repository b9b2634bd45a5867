"""The evaluate stage (:func:`pipeline.evaluate.stage.evaluate`): the selected model on the test set."""
