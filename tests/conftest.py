"""Test configuration shared by every test module.

Environment variables that ``huggingface_hub`` reads once, at import, are set here at module top, before any test
module imports it: telemetry and Xet off, a throw-away ``HF_HOME``, and ``HF_ENDPOINT`` pointing at a port reserved
now for the fake Hub (``tests/hub_server.py``) that the ``fake_hub`` fixture serves on.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path

import pytest

_HF_HOME = tempfile.mkdtemp(prefix="facezoo-test-hf-home-")
atexit.register(shutil.rmtree, _HF_HOME, ignore_errors=True)
_HUB_SOCKET = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
_HUB_SOCKET.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
_HUB_SOCKET.bind(("127.0.0.1", 0))

os.environ.update(
    {
        "HF_HOME": _HF_HOME,
        "HF_ENDPOINT": f"http://127.0.0.1:{_HUB_SOCKET.getsockname()[1]}",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
)
os.environ.pop("HF_TOKEN", None)
os.environ.pop("HF_HUB_OFFLINE", None)
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def _fake_hub_session():
    from hub_server import FakeHub

    with FakeHub(sock=_HUB_SOCKET) as hub:
        yield hub


@pytest.fixture
def fake_hub(_fake_hub_session):
    """The fake Hub that ``HF_ENDPOINT`` points at, emptied before each test; regular uploads only
    (set ``fake_hub.lfs_threshold`` for git-LFS)."""
    _fake_hub_session.reset()
    _fake_hub_session.lfs_threshold = None
    yield _fake_hub_session
    _fake_hub_session.reset()


@pytest.fixture(scope="module")
def tiny_models():
    """Register the tiny stand-ins of ``tests/example_stand_ins.py`` for a test module, and remove them afterwards."""
    import example_stand_ins

    yield example_stand_ins.register()
    example_stand_ins.unregister()
