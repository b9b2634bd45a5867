"""``python -m pipeline <command>``: the command line (:mod:`pipeline.cli`)."""

import sys

from .cli.main import main

if __name__ == "__main__":
    sys.exit(main())
