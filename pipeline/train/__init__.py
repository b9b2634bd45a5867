"""The train stage (:func:`pipeline.train.loop.train`): frames -> the PLIF network, one process
or DDP under torchrun."""
