"""Fixtures of the hostile-input tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def file_server():
    from _http_server import FileServer

    with FileServer() as server:
        yield server
