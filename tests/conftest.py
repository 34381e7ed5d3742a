from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT/'tests'/'data'


@pytest.fixture
def data():
    "The folder of real records vendored with the tests."
    return DATA
