"nbs/evaluate.ipynb runs under papermill on synthetic data with tiny parameters and fills the results store."
import json, os, subprocess, sys
import numpy as np, pytest, torch
from clef_nb.encoder import net1d, save_checkpoint
from clef_nb.results import load_results

ROOT = __import__('pathlib').Path(__file__).resolve().parents[1]


def test_evaluate_notebook_fills_the_store(tmp_path):
    torch.manual_seed(0)
    ck = save_checkpoint(net1d('small'), tmp_path/'encoder.safetensors', dict(method='clef', variant='paper', size='small'))
    store, out = tmp_path/'results.csv', tmp_path/'run'
    env = {k: v for k, v in os.environ.items() if k != 'MPLBACKEND'}
    params = dict(checkpoint=str(ck), tasks='synth_af,synth_hr', protocol='both', seeds='[0, 1]', data='cohort',
                  out_dir=str(out), results=str(store), n_patients='30', n_boot='100', finetune_epochs='1')
    args = [a for k, v in params.items() for a in (('-y', f'{k}: {v}') if k == 'seeds' else ('-p', k, v))]
    subprocess.run([sys.executable, '-m', 'papermill', '--cwd', str(ROOT/'nbs'), str(ROOT/'nbs'/'evaluate.ipynb'), str(tmp_path/'out.ipynb'),
                    '--log-level', 'WARNING', *args], check=True, env=env, cwd=tmp_path, timeout=600)
    nb = json.loads((tmp_path/'out.ipynb').read_text())
    assert not [o for c in nb['cells'] for o in c.get('outputs', []) if o.get('output_type') == 'error']
    df = load_results(store)
    main = df[(df.subgroup == 'all') & df.metric.isin(['auroc', 'mae'])]
    assert set(main.task) == {'synth_af', 'synth_hr'} and set(main.protocol) == {'probe', 'finetune'}
    assert set(main.model) == {'clef-small', 'random'} and set(main.seed) == {0, 1}
    assert len(main) == 2 * 2 * 2 * 2 and main.synthetic.all()                  # tasks × protocols × encoders × seeds
    assert main.ci_low.notna().all() and (main.ci_low <= main.ci_high).all()
    assert {'sex=F', 'sex=M'} <= set(df.subgroup) and 'ece' in set(df.metric)
    assert (out/'tasks.png').is_file() and (out/'calibration.png').is_file() and (out/'parameters.json').is_file()
