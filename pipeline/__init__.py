"""DVS event-camera datasets to T-frame HDF5, and PLIF spiking networks trained on them."""

__version__ = "0.3.0"   # 0.3: frames files keep their metadata in one checksummed JSON dataset, no attributes
#                         0.2: frames files carry Fletcher-32 checksums (HDF5 1.10 format)
