"The README's main job runs under papermill on a fresh checkout and writes its executed notebook."
import json, os, re, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _main_command():
    "The first sh block of README.md: install, then the main job."
    return re.findall(r'```sh\n(.*?)\n```', (ROOT/'README.md').read_text(), re.S)[0]


def test_main_job_runs_under_papermill(tmp_path):
    cmd = _main_command()
    job = cmd.split(' && ')[-1].split()
    assert job[0] == 'papermill' and '--cwd' in job, cmd
    nb_in = job[job.index('--cwd') + 2]
    out = tmp_path/'job.ipynb'
    env = {k: v for k, v in os.environ.items() if k != 'MPLBACKEND'}  # let the kernel use its inline backend, as a user's would
    subprocess.run([sys.executable, '-m', 'papermill', '--cwd', str(ROOT/'nbs'), str(ROOT/nb_in), str(out), '--log-level', 'WARNING'],
                   check=True, cwd=ROOT, env=env)
    nb = json.loads(out.read_text())
    errors = [o for c in nb['cells'] for o in c.get('outputs', []) if o.get('output_type') == 'error']
    assert not errors and nb['metadata']['papermill']['exception'] in (None, False)
    assert any('image/png' in o.get('data', {}) for c in nb['cells'] for o in c.get('outputs', [])), 'the job drew no figure'
