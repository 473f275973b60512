from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
# tests are small: one thread keeps them deterministic and fair to a busy machine
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO
