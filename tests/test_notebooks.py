"""Every library and explanation notebook in nbs/ and its sub-folders runs clean under nbdev's test runner (one pytest
test per notebook, so failures are named). The experiment notebooks are not run here: they run under papermill, with
their parameters, in tests of their own, and their front matter (`skip_exec: true`) keeps `nbdev_test` from running them
a second time."""
import os
from pathlib import Path
import pytest
from nbdev.test import test_nb as run_nb
from nbdev.config import get_config
from nbdev.process import NBProcessor
from nbdev.frontmatter import FrontmatterProc

ROOT = Path(__file__).resolve().parents[1]
FLAGS = get_config(path=ROOT).get('tst_flags', '').split()
EXPERIMENTS = ('pretrain', 'evaluate', 'reproduce')  # nbs/<name>.ipynb, run under papermill


def _listed(p:Path)->bool:
    "Not in a `_`- or `.`-prefixed file or folder under nbs/ (nbdev's own rule), and not an experiment notebook."
    rel = p.relative_to(ROOT/'nbs')
    return not any(part.startswith(('_', '.')) for part in rel.parts) and not (len(rel.parts) == 1 and p.stem in EXPERIMENTS)


def _skip_exec(p:Path)->bool: return bool(NBProcessor(p, procs=FrontmatterProc, process=True).nb.frontmatter_.get('skip_exec', False))


NBS = sorted(p for p in (ROOT/'nbs').rglob('*.ipynb') if _listed(p))


@pytest.mark.parametrize('nb', NBS, ids=[str(p.relative_to(ROOT/'nbs').with_suffix('')) for p in NBS])
def test_notebook(nb, capsys):
    os.environ.setdefault('MPLBACKEND', 'Agg')
    assert not _skip_exec(nb), f'{nb.name} says skip_exec: a library notebook must run under nbdev_test'
    ok, secs = run_nb(nb, skip_flags=FLAGS, basepath=ROOT)
    assert ok, f'{nb.name} failed (traceback above)'


def test_listing_rules(tmp_path):
    "Sub-folders are searched; `_`-prefixed notebooks and folders and the top-level experiment notebooks are left out."
    nbs = ROOT/'nbs'
    assert _listed(nbs/'explanations'/'synthetic.ipynb') and _listed(nbs/'21_train.ipynb')
    assert not _listed(nbs/'_draft.ipynb') and not _listed(nbs/'_old'/'x.ipynb') and not _listed(nbs/'.ipynb_checkpoints'/'a.ipynb')
    assert not any(_listed(nbs/f'{e}.ipynb') for e in EXPERIMENTS)
    assert ROOT/'nbs'/'21_train.ipynb' in NBS and not {p.stem for p in NBS if p.parent == nbs} & set(EXPERIMENTS)


@pytest.mark.parametrize('name', EXPERIMENTS)
def test_experiment_notebook_runs_once(name):
    "An experiment notebook is skipped by `nbdev_test` (front matter) and run under papermill by a test of its own."
    nb = ROOT/'nbs'/f'{name}.ipynb'
    if not nb.exists(): pytest.skip(f'nbs/{name}.ipynb does not exist (yet)')
    assert _skip_exec(nb), f'{nb.name}: its first cell needs `- skip_exec: true`, or nbdev_test runs it a second time'
    runners = [t.name for t in (ROOT/'tests').glob('test_*.py') if t.name != 'test_notebooks.py' and f'{name}.ipynb' in t.read_text()]
    assert runners, f'no test under tests/ runs {nb.name}'
