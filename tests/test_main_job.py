"The README's main job (pretraining under papermill on the synthetic default) runs on a fresh checkout and writes its outputs."
import json, os, re, shlex, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _main_command():
    "The first sh block of README.md: install, then the main job."
    return re.findall(r'```sh\n(.*?)\n```', (ROOT/'README.md').read_text(), re.S)[0]


def test_main_job_runs_under_papermill(tmp_path):
    steps = _main_command().split(' && ')
    assert steps[-2] == 'mkdir -p runs', steps  # papermill does not create the output folder
    job = shlex.split(steps[-1])
    assert job[:2] == ['papermill', 'nbs/pretrain.ipynb'], job
    out_nb, out, work = tmp_path/'pretrain.ipynb', tmp_path/'out', tmp_path/'data'
    env = {k: v for k, v in os.environ.items() if k != 'MPLBACKEND'}  # let the kernel use its inline backend, as a user's would
    cmd = [sys.executable, '-m', *job[:2], str(out_nb), *job[3:], '-p', 'out_dir', str(out), '-p', 'work_dir', str(work), '--log-level', 'WARNING']
    subprocess.run(cmd, check=True, cwd=ROOT, env=env)
    nb = json.loads(out_nb.read_text())
    assert not [o for c in nb['cells'] for o in c.get('outputs', []) if o.get('output_type') == 'error']
    assert sum('image/png' in o.get('data', {}) for c in nb['cells'] for o in c.get('outputs', [])) >= 3, 'views, loss and probe figures'
    card = json.loads((out/'encoder.json').read_text())
    assert card['pretraining']['synthetic'] is True and card['method'] == 'clef' and card['input']['fs'] == 500
    assert (out/'encoder.safetensors').stat().st_size > 1e6 and (out/'sanity_probe.csv').exists() and (out/'loss.png').exists()
    assert 'SYNTHETIC DATA' in json.dumps(nb['cells'][-1]['outputs'])
