"""The train stage (:func:`pipeline.train.stage.train`): frames -> the PLIF network, one process
or DDP under torchrun."""
