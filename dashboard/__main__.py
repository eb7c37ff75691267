"""`python -m dashboard [--config FILE] [--set schoolgate_NAME=VALUE]...`"""

from __future__ import annotations

import sys

from dashboard.server import main

if __name__ == "__main__":
    sys.exit(main())
