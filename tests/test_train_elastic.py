"Pretraining under torchrun's elastic agent: a worker SIGKILLed after a checkpoint, the group restarted, the same weights bit for bit; a worker without peers fails on time."
import os, signal, socket, subprocess, sys, time
from pathlib import Path
import pytest, torch
from safetensors.torch import load_file
from test_train import ENV, _argv, data  # noqa: F401  (the module-scoped synthetic cohort and the CLI arguments)

WORKER = '''import os, sys
from pathlib import Path
from clef_nb.train import pretrain, _parse, _setup_dist, latest_checkpoint
cfg = _parse(sys.argv[1:])
rank, world, _ = _setup_dist('cpu')
attempt, out = os.environ.get('TORCHELASTIC_RESTART_COUNT', '0'), Path(cfg.out_dir)
out.mkdir(parents=True, exist_ok=True)
(out/f'pid_rank{rank}_attempt{attempt}').write_text(str(os.getpid()))
ck = latest_checkpoint(out)  # what pretrain will resume from, recorded by every rank
(out/f'resume_rank{rank}_attempt{attempt}').write_text(ck.name if ck else '')
pretrain(cfg)
'''


def _port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def _torchrun(script, argv, *extra):
    return [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', *extra, '--master_addr', '127.0.0.1',
            '--master_port', str(_port()), str(script), *argv]


def test_killed_worker_group_restarts_to_identical_weights(data, tmp_path):
    cache, meta = data
    script = tmp_path/'worker.py'; script.write_text(WORKER)
    kw = dict(steps=12, ckpt_every=4, device='cpu')
    subprocess.run(_torchrun(script, _argv(cache, meta, tmp_path/'ref', **kw)), env=ENV, check=True, timeout=240)
    out = tmp_path/'elastic'
    p = subprocess.Popen(_torchrun(script, _argv(cache, meta, out, **kw), '--max-restarts', '1', '--monitor-interval', '0.1'),
                         env=ENV, start_new_session=True)
    first, pid1 = out/'checkpoints'/'step_00000004'/'train_state.pt', out/'pid_rank1_attempt0'
    try:
        for _ in range(12000):
            if (first.exists() and pid1.exists()) or p.poll() is not None: break
            time.sleep(0.01)
        assert first.exists() and not (out/'encoder.safetensors').exists(), 'the run ended before a worker could be killed'
        os.kill(int(pid1.read_text()), signal.SIGKILL)
        assert p.wait(timeout=240) == 0
    finally:
        if p.poll() is None: os.killpg(p.pid, signal.SIGKILL)
    assert (out/'pid_rank0_attempt1').exists() and (out/'pid_rank1_attempt1').exists(), 'the group was not restarted'
    resumed = {(out/f'resume_rank{r}_attempt1').read_text() for r in (0, 1)}
    assert len(resumed) == 1 and 'step_00000004' <= resumed.pop() < 'step_00000012', resumed
    a, b = load_file(str(tmp_path/'ref'/'encoder.safetensors')), load_file(str(out/'encoder.safetensors'))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize('rank', [0, 1])
def test_worker_without_peers_fails_within_the_timeout(rank):
    port = _port()
    env = dict(ENV, WORLD_SIZE='2', RANK=str(rank), LOCAL_RANK='0', MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port), CLEF_NB_DIST_TIMEOUT='3')
    t0 = time.time()
    r = subprocess.run([sys.executable, '-c', "from clef_nb.train import _setup_dist; _setup_dist('cpu')"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and time.time() - t0 < 60
    assert f'RuntimeError: rank {rank} of 2: could not reach the other processes at 127.0.0.1:{port} within 3 s' in r.stderr, r.stderr[-2000:]
