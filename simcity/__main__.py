"""``python -m simcity``: the same command line as the ``simcity`` console script."""

import sys

from simcity.cli import main

sys.exit(main())
