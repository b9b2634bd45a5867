"""The frames stage (:func:`pipeline.frames.stage.make_frames`): recordings or images in
``data/raw`` -> T frames per sample -> one HDF5 file per split.

Public here: :func:`integrate` and :func:`frame_shape` (:mod:`pipeline.frames.integration`:
per-pixel counts, SpikingJelly's and Tonic's ``ToFrame`` binnings), :func:`voxel_grid` and
:func:`binarep` (:mod:`pipeline.frames.representations`: Tonic's ``ToVoxelGrid`` and
``ToBinaRep``)."""

from .integration import frame_shape, integrate
from .representations import binarep, voxel_grid

__all__ = ["binarep", "frame_shape", "integrate", "voxel_grid"]
