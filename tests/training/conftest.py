"""Fixtures of the training tests: synthetic datasets (the stand-in models: ``tiny_models`` in tests/conftest.py)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory) -> Path:
    """A datasets root holding all six datasets in their upstream layouts."""
    pytest.importorskip("facezoo.datasets", reason="facezoo.datasets (issue 4) is not installed yet")
    spec = importlib.util.spec_from_file_location("facezoo_training_fixtures", Path(__file__).with_name("fixtures.py"))
    fixtures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixtures)
    root = tmp_path_factory.mktemp("data")
    for make in fixtures.MAKERS.values():
        make(root)
    return root


@pytest.fixture(scope="session")
def shared_data() -> Path:
    root = Path(os.environ.get("FACEZOO_SHARED_DATA", "/work/shared/data"))
    if not root.is_dir():
        pytest.skip(f"no shared data at {root} (set FACEZOO_SHARED_DATA)")
    return root
