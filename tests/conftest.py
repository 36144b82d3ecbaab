"""Test set-up: nothing may probe the cloud metadata server, and every test is offline but for 127.0.0.1."""

import os
from importlib import resources
from pathlib import Path

import pytest

os.environ["NO_GCE_CHECK"] = "True"
os.environ.pop("GOOGLE_APPLICATION_CREDENTIALS", None)


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return Path(str(resources.files("auditor.samples") / "bangkok-solutions"))
