"""The download stage (:func:`pipeline.download.stage.download`): obtain a dataset's files (fetch,
generate the demo, or Tonic's class), verify them and unpack them into ``data/raw``."""
