"""DVS event-camera datasets to T-frame HDF5, and PLIF spiking networks trained on them."""

__version__ = "0.1.0"
