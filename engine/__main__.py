"""`python -m engine` runs the same command line as `mycfa-engine`."""

from __future__ import annotations

import sys

from engine.cli import main

sys.exit(main())
