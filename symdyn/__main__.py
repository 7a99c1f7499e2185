"""``python -m symdyn``: the same command line as the ``symdyn`` script."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
