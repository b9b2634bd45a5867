"""What every stage shares: events, errors, atomic writes, the HDF5 frames store, the ordered
parallel map, the device, bounded YAML, the source record (data/raw/SOURCE.json), the choices
of the frames, filters and augment params. The lowest layer: it imports no other package of
``pipeline`` (the validated ``params.yaml`` is :mod:`pipeline.params`, above the registry)."""
