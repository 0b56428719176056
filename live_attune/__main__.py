"""``python -m live_attune``: the ``live-attune`` command."""

import sys

from live_attune.cli import main

if __name__ == "__main__":
    sys.exit(main())
