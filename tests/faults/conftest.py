"""Fixtures of the fault tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_recorder import Recorder


@pytest.fixture
def recorder(tmp_path: Path) -> Recorder:
    """A recording stand-in for the docker or kubectl CLI (see cli_recorder)."""
    return Recorder(tmp_path)
