"""The frames stage (:func:`pipeline.frames.stage.make_frames`): recordings or images in
``data/raw`` -> T frames per sample -> one HDF5 file per split.

Public here: :func:`integrate` and :func:`frame_shape` (:mod:`pipeline.frames.integration`)."""

from .integration import frame_shape, integrate

__all__ = ["frame_shape", "integrate"]
