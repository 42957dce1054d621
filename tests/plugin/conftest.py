"""The plugin's tests use the generated packages in ``generated/`` as a user's tests would use
theirs: importable by name."""

from __future__ import annotations

import sys

from tests.conftest import ROOT

GENERATED = ROOT / "generated"

# Appended, not prepended: tests that generate a package of the same name into a folder of their
# own put that folder first, and find theirs.
if str(GENERATED) not in sys.path:
    sys.path.append(str(GENERATED))
