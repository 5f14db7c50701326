"""``python -m audar_plugins.cli``: the ``audar`` command."""

import sys

from . import main

sys.exit(main())
