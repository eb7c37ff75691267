"""`python -m dashboard.department ACTION ...` (what `schoolgate department` runs)."""

from __future__ import annotations

import sys

from dashboard.department.server import main

if __name__ == "__main__":
    sys.exit(main())
