"nbs/reproduce.ipynb runs the smoke grid under papermill; a driver killed with SIGKILL and restarted finishes with the same rows and no duplicates (clef_nb.grid)."
import json, os, shutil, signal, subprocess, sys, time
from pathlib import Path
import numpy as np, pandas as pd, pytest
from clef_nb.results import KEY, load_results, append_results, ResultsStoreError
from clef_nb.grid import run_grid, GridError

ROOT = Path(__file__).resolve().parents[1]
ENV = {**{k: v for k, v in os.environ.items() if k != 'MPLBACKEND'}, 'PYTHONPATH': str(ROOT)}
IDENT = ['cell', 'model', 'task', 'lead', 'seed', 'label_fraction', 'condition', 'vs', 'metric', 'subgroup']


def test_smoke_notebook_fills_every_table(tmp_path):
    store, work = tmp_path/'results.csv', tmp_path/'work'
    run = lambda: subprocess.run([sys.executable, '-m', 'papermill', '--cwd', str(tmp_path), str(ROOT/'nbs'/'reproduce.ipynb'), str(tmp_path/'out.ipynb'),
                                  '--log-level', 'WARNING', '-p', 'scale', 'smoke', '-p', 'results', str(store), '-p', 'work_dir', str(work)],
                                 check=True, env=ENV, cwd=tmp_path, timeout=3000)
    run()
    nb = json.loads((tmp_path/'out.ipynb').read_text())
    assert not [o for c in nb['cells'] for o in c.get('outputs', []) if o.get('output_type') == 'error']
    text = json.dumps(nb)
    assert 'SYNTHETIC' in text and 'not run: weights not given' in text and 'has no field' not in text
    df = load_results(store); main = df[(df.subgroup == 'all') & (df.vs == '') & df.metric.isin(['auroc', 'mae'])]
    five = {'CLEF', 'CLEF (paper variant)', 'SimCLR', 'MoCo', 'BYOL'}
    assert five <= set(main.model) and {'random', 'CLEF lead I', 'CLEF with M', 'CLEF without L^d', 'CLEF without weighting'} <= set(main.model)
    for m in five: assert main[main.model == m].groupby('task').seed.nunique().to_dict() == {'ptbxl_super': 2, 'aurora_sbp': 2}, m
    assert set(main[main.model == 'CLEF'].label_fraction) == {0.1, 1.0}
    assert {'I', 'II'} <= set(main[(main.model == 'CLEF') & (main.task == 'ptbxl_super')].lead)
    assert 'nstdb-mixture-6dB' in set(main.condition) and main.synthetic.all()
    d = df[df.vs != '']
    assert {'SimCLR', 'MoCo', 'BYOL', 'random', 'CLEF'} <= set(d.vs) and set(d.metric) == {'auroc_diff', 'mae_diff'}
    assert not df.duplicated(KEY).any() and (df.cell != '').all()
    plan = pd.read_csv(work/'plan.csv')
    assert set(plan.status) <= {'ran', 'done'} | {s for s in plan.status if s.startswith('not run')}
    timing = pd.read_csv(tmp_path/'timing.csv')                       # every cell that ran, with its seconds, beside the store
    assert sorted(timing.key) == sorted(plan.key[plan.status == 'ran']) and (timing.seconds >= 0).all() and timing.cpu_seconds.sum() > 0
    # a second run finds every cell in the store and changes no number
    run()
    again = load_results(store); plan = pd.read_csv(work/'plan.csv')
    assert 'ran' not in set(plan.status) and len(pd.read_csv(tmp_path/'timing.csv')) == len(timing)
    pd.testing.assert_frame_equal(again.sort_values(IDENT).reset_index(drop=True), df.sort_values(IDENT).reset_index(drop=True))


GRID = "from clef_nb.grid import run_grid; run_grid(['s13'], 'smoke', seeds=[0], tasks=['aurora_sbp'], results={store!r}, work_dir={work!r}, progress=False)"


def _grid(store, work):
    return subprocess.Popen([sys.executable, '-c', GRID.format(store=str(store), work=str(work))], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _kill_when(proc, ready, timeout=900):
    "SIGKILL `proc` as soon as `ready()` holds; say whether it was still running then."
    t0 = time.time()
    while not ready() and proc.poll() is None and time.time() - t0 < timeout: time.sleep(0.2)
    alive = proc.poll() is None
    if alive: os.kill(proc.pid, signal.SIGKILL)
    proc.wait(); return alive


def test_sigkill_mid_grid_then_resume(tmp_path):
    a, b = tmp_path/'a', tmp_path/'b'
    assert _grid(a/'results.csv', a).wait(timeout=1500) == 0           # the uninterrupted reference
    ref = load_results(a/'results.csv')
    shutil.copytree(a, b, ignore=shutil.ignore_patterns('pretrain', 'results.csv*', 'preds'))  # same data, nothing run yet
    store = b/'results.csv'
    killed_in_pretraining = _kill_when(_grid(store, b), lambda: any((b/'pretrain').glob('*/*')))
    killed_in_evaluation = _kill_when(_grid(store, b), lambda: store.is_file())
    assert killed_in_pretraining and killed_in_evaluation
    n_at_kill = len(load_results(store))
    assert _grid(store, b).wait(timeout=1500) == 0
    out = load_results(store)
    assert 0 < n_at_kill < len(out) and not out.duplicated(KEY).any()
    x, y = (d.sort_values(IDENT).reset_index(drop=True) for d in (out, ref))
    pd.testing.assert_frame_equal(x[IDENT], y[IDENT])
    np.testing.assert_allclose(x.value, y.value, rtol=1e-6, atol=1e-9)


def test_bad_input_is_named_and_the_store_untouched(tmp_path):
    foreign = tmp_path/'foreign.csv'; foreign.write_text('patient_id,age\n1,50\n'); before = foreign.read_bytes()
    with pytest.raises(ResultsStoreError, match=f'{foreign}: not a clef_nb results store'): run_grid(['s13'], 'smoke', results=foreign, work_dir=tmp_path/'w')
    assert foreign.read_bytes() == before
    with pytest.raises(GridError, match="tables: no table named 'T-cls9'"): run_grid(['T-cls9'], 'smoke', results=tmp_path/'r.csv', work_dir=tmp_path/'w')
    with pytest.raises(GridError, match="scale: 'laptop'"): run_grid(['s13'], 'laptop', results=tmp_path/'r.csv', work_dir=tmp_path/'w')
    assert not (tmp_path/'r.csv').exists() and not (tmp_path/'w').exists()


def test_a_failing_cell_is_reported_and_the_others_run(tmp_path, monkeypatch, capsys):
    import clef_nb.grid as g
    real = g.run_pretrain_cell
    def broken(c, *a, **k):
        if c['row'] == 'CLEF lead I': raise RuntimeError('simulated divergence')
        return real(c, *a, **k)
    monkeypatch.setattr(g, 'run_pretrain_cell', broken)
    cells = run_grid(['s13'], 'smoke', seeds=[0], tasks=['aurora_sbp'], results=tmp_path/'r.csv', work_dir=tmp_path/'w', progress=False)
    st = cells.set_index('row').status
    assert st[cells.kind.eq('pretrain').values].loc['CLEF lead I'] == 'failed: RuntimeError: simulated divergence'
    bad = cells[(cells.row == 'CLEF lead I') & (cells.kind == 'eval')]
    assert len(bad) and bad.status.str.startswith('failed: needs cell').all()
    assert (cells[(cells.row == 'CLEF') & (cells.kind == 'eval')].status == 'ran').all()
    assert 'grid cells failed' in capsys.readouterr().out
    assert set(load_results(tmp_path/'r.csv').model) == {'CLEF'}           # nothing stored for the failed row
