"""What every stage shares: events, errors, atomic writes, params, the HDF5 frames store, the
ordered parallel map, the device, bounded YAML, the source record, the filters' params."""
