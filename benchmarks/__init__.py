"""Benchmarks of the pipeline against Tonic and SpikingJelly: ``python -m benchmarks``.

One command runs every measurement on the same inputs, side by side, prints a table and
writes ``benchmarks/results.json``; see ``python -m benchmarks --help`` and README "Benchmarks".
Modules, one per measurement: :mod:`.aedat_read`, :mod:`.integration`, :mod:`.frames_stage`,
:mod:`.loading`, :mod:`.training`; inputs come from :mod:`.corpus`, the peers from :mod:`.peers`.
"""
