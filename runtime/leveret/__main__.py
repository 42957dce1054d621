"""``python -m leveret``: the same as the ``leveret`` command."""

import sys

from leveret._cli import main

sys.exit(main())
