"Every notebook in nbs/ runs clean under nbdev's test runner (one pytest test per notebook, so failures are named)."
import os
from pathlib import Path
import pytest
from nbdev.test import test_nb as run_nb
from nbdev.config import get_config

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted(p for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith('_'))
FLAGS = get_config(path=ROOT).get('tst_flags', '').split()


@pytest.mark.parametrize('nb', NBS, ids=[p.stem for p in NBS])
def test_notebook(nb, capsys):
    os.environ.setdefault('MPLBACKEND', 'Agg')
    ok, secs = run_nb(nb, skip_flags=FLAGS, basepath=ROOT)
    assert ok, f'{nb.name} failed (traceback above)'
