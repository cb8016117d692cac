"""``python -m soundstage.cli``: the ``soundstage`` command."""

import sys

from soundstage.cli import main

if __name__ == "__main__":  # imported (a docs tool, the examples test), it runs nothing
    sys.exit(main())
