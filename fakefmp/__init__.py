"""A fake FMP stable API on loopback: generated S&P 500 data, FMP's limits, errors and faults."""

from __future__ import annotations

from fakefmp.config import FAULT_KINDS, FakeConfig
from fakefmp.process import FakeFMPProcess
from fakefmp.server import RunningServer, serve, start_server

__all__ = ["FAULT_KINDS", "FakeConfig", "FakeFMPProcess", "RunningServer", "serve", "start_server"]
