"""The command line, ``python -m pipeline``: preview, info, verify, check, summary, report, datasets."""
