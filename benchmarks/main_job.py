"""Wall time of the README's main job: `papermill nbs/pretrain.ipynb` with the given parameters, from a fresh work
folder (so data preparation is included), on this machine.

    python benchmarks/main_job.py [--scale medium]

Runs the notebook in a temporary folder, times it, reads the run's own record (steps, batch, patients) from what it
wrote, and writes `benchmarks/results/main_job_<time>.json`.
"""
import argparse, ast, json, subprocess, sys, tempfile, time
from pathlib import Path
from _record import ROOT, start, write


def parameters(nb:Path)->dict:
    "The executed notebook's parameters: its `parameters` cell, then papermill's injected values over it."
    out = {}
    for c in json.loads(nb.read_text())['cells']:
        tags = c['metadata'].get('tags', [])
        if 'parameters' in tags or 'injected-parameters' in tags:
            for node in ast.parse(''.join(c['source'])).body:
                if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Constant):
                    out[(node.targets[0] if isinstance(node, ast.Assign) else node.target).id] = node.value.value
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--scale', default='medium', help='the notebook\'s `scale` parameter')
    a = ap.parse_args()
    res = start('main_job', scale=a.scale)
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        cmd = [sys.executable, '-m', 'papermill', str(ROOT/'nbs'/'pretrain.ipynb'), str(d/'pretrain.ipynb'), '-p', 'scale', a.scale,
               '-p', 'work_dir', str(d/'data'), '-p', 'out_dir', str(d/'pretrain')]
        t0 = time.perf_counter(); p = subprocess.run(cmd, capture_output=True, text=True); secs = time.perf_counter() - t0
        if p.returncode: raise SystemExit(f'the main job failed:\n{p.stderr[-3000:]}')
        params = parameters(d/'pretrain.ipynb')
        outputs = sorted(p.name for p in (d/'pretrain').rglob('*') if p.is_file())
    res.update(seconds=round(secs, 1), command=f'papermill nbs/pretrain.ipynb <out> -p scale {a.scale}',
               parameters={k: v for k, v in params.items() if k not in ('work_dir', 'out_dir')}, outputs=outputs)
    print(f'main job (-p scale {a.scale}): {secs:.0f} s')
    write(res)


if __name__ == '__main__': main()
