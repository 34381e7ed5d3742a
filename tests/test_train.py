"Pretraining engine: a run killed by SIGKILL resumes to bit-identical weights; 2 gloo processes under torchrun stay in sync."
import json, os, signal, socket, subprocess, sys, time
from pathlib import Path
import pytest, torch
from safetensors.torch import load_file
from clef_nb.train import prepare_synthetic

ENV = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', MPLBACKEND='Agg')


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    "A 30-patient synthetic cohort, its metadata and cache."
    root = tmp_path_factory.mktemp('pretrain')
    cache, meta, _ = prepare_synthetic(root/'data', n_patients=30, workers=0, progress=False)
    return cache, meta


def _argv(cache, meta, out, **kw):
    a = dict(cache=cache, meta=meta, out_dir=out, scale='small', batch_size=8, steps=16, ckpt_every=4, log_every=1, progress='false', seed=3) | kw
    return [x for k, v in a.items() for x in (f'--{k}', str(v))]


def _run(argv, **kw):
    return subprocess.Popen([sys.executable, '-c', 'import sys; from clef_nb.train import main; main(sys.argv[1:])', *argv], env=ENV, **kw)


@pytest.mark.parametrize('method', ['clef', 'moco'])
def test_kill_and_resume_is_bit_identical(data, tmp_path, method):
    cache, meta = data
    extra = dict(method=method, moco_k=32) if method == 'moco' else dict(method=method)
    ref = _run(_argv(cache, meta, tmp_path/'ref', **extra)); assert ref.wait(timeout=300) == 0
    p = _run(_argv(cache, meta, tmp_path/'killed', **extra), start_new_session=True)
    first = tmp_path/'killed'/'checkpoints'/'step_00000004'/'train_state.pt'
    for _ in range(3000):
        if first.exists() or p.poll() is not None: break
        time.sleep(0.02)
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    assert first.exists() and not (tmp_path/'killed'/'encoder.safetensors').exists(), 'the run was not killed mid-way'
    done = sorted(d.name for d in (tmp_path/'killed'/'checkpoints').glob('step_*'))
    assert done[-1] < 'step_00000016', done
    r = _run(_argv(cache, meta, tmp_path/'killed', **extra)); assert r.wait(timeout=300) == 0
    a, b = load_file(str(tmp_path/'ref'/'encoder.safetensors')), load_file(str(tmp_path/'killed'/'encoder.safetensors'))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    steps = [json.loads(l)['step'] for l in (tmp_path/'killed'/'metrics.jsonl').read_text().splitlines()]
    assert steps[-1] == 16 and len(set(steps)) == 16


def test_two_gloo_processes_end_with_identical_weights(data, tmp_path):
    cache, meta = data
    script = tmp_path/'ddp.py'
    script.write_text('import os, sys\nfrom safetensors.torch import save_file\nfrom clef_nb.train import pretrain, _parse\n'
                      'res = pretrain(_parse(sys.argv[1:]))\n'
                      "save_file({k: v.contiguous() for k, v in res['model'].encoder.state_dict().items()}, f\"{res['out_dir']}/rank{os.environ['RANK']}.safetensors\")\n")
    argv = _argv(cache, meta, tmp_path/'ddp', steps=4, ckpt_every=2, device='cpu')
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]
    subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_addr', '127.0.0.1', '--master_port', str(port), str(script), *argv],
                   env=ENV, check=True, timeout=180)
    r0, r1 = (load_file(str(tmp_path/'ddp'/f'rank{r}.safetensors')) for r in (0, 1))
    start = load_file(str(tmp_path/'ddp'/'checkpoints'/'step_00000002'/'method.safetensors'))
    assert all(torch.equal(r0[k], r1[k]) for k in r0)
    assert any(not torch.equal(r0[k], start[f'encoder.{k}']) for k in r0), 'weights did not change over the last steps'
    card = json.loads((tmp_path/'ddp'/'encoder.json').read_text())
    assert card['pretraining']['batch_size'] == 8 and card['config']['steps'] == 4
