"""What every benchmark records beside its figures: the machine, the commit, the time; and where the JSON goes.

Each script in `benchmarks/` builds a dict with `benchmark` and `created`, adds `record()`, and writes it with
`write(res)` to `benchmarks/results/<benchmark>_<created>.json`; `benchmarks/report.py` renders the newest one of
each benchmark into the README, so no figure there is typed by hand.
"""
import json, os, platform, subprocess, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT/'benchmarks'/'results'


def machine()->dict:
    "The machine the figures were measured on: CPU model and vector flags, usable cores, load, torch build, GPU."
    import torch
    from clef_nb.train import native_bf16
    info = {}
    try:
        txt = Path('/proc/cpuinfo').read_text()
        info['cpu'] = next((l.split(':', 1)[1].strip() for l in txt.splitlines() if l.startswith('model name')), platform.processor())
        flags = set(next(l for l in txt.splitlines() if l.startswith('flags')).split(':', 1)[1].split())
        info['flags'] = sorted(flags & {'avx2', 'fma', 'avx512f', 'avx512bw', 'avx512_vnni', 'avx512_bf16', 'amx_bf16', 'amx_tile'})
    except (OSError, StopIteration): info['cpu'], info['flags'] = platform.processor(), []
    info['cpus_available'] = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
    info['load_average_1min_at_start'] = round(os.getloadavg()[0], 2) if hasattr(os, 'getloadavg') else None
    info['native_bf16'] = native_bf16()
    info['torch'] = torch.__version__
    info['torch_cpu_capability'] = torch.backends.cpu.get_cpu_capability()
    info['cuda'] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return info


def git_commit()->dict:
    "The commit of the working tree, and whether it has uncommitted changes."
    run = lambda *a: subprocess.run(['git', *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return dict(commit=run('rev-parse', 'HEAD') or None, dirty=bool(run('status', '--porcelain', '--untracked-files=no')))


def start(benchmark:str, **settings)->dict:
    "A new result: its name, creation time (UTC), commit and machine, and the settings it ran with."
    return dict(benchmark=benchmark, created=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()), **git_commit(),
                machine=machine(), settings=settings)


def write(res:dict, out=RESULTS)->Path:
    "Write `res` as `<out>/<benchmark>_<created>.json` and return the path."
    out = Path(out); out.mkdir(parents=True, exist_ok=True)
    f = out/f"{res['benchmark']}_{res['created'].replace(':', '').replace('-', '')}.json"
    f.write_text(json.dumps(res, indent=1))
    print(f'\nwrote {f.relative_to(ROOT) if f.is_relative_to(ROOT) else f}')
    return f
