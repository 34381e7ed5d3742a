"""The README's throughput table, made from the newest committed result of `benchmarks/pretrain_throughput.py`.

    python benchmarks/report.py            # prints the markdown table

`nbs/index.ipynb` calls `perf_table` so the README and the docs show exactly what the JSON records; nothing in
the table is typed by hand.
"""
import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent/'results'


def newest(results=RESULTS, benchmark='pretrain_throughput'):
    "The newest result (by its `created` time) of `benchmark` in the folder `results`, with its file name."
    runs = [(json.loads(p.read_text()), p.name) for p in sorted(Path(results).glob(f'{benchmark}_*.json'))]
    if not runs: raise FileNotFoundError(f'no {benchmark}_*.json in {results}: run benchmarks/{benchmark}.py')
    return max(runs, key=lambda r: r[0]['created'])


def _n(x, d=1): return f'{x:,.{d}f}'


def perf_table(results=RESULTS)->str:
    "Markdown: the training and embedding figures of the newest throughput result, its machine and commit."
    r, name = newest(results)
    m = r['machine']
    lines = [f"Measured by `benchmarks/pretrain_throughput.py` on {m['cpu']} ({m['cpus_available']} CPUs, {m['threads']} torch thread{'s' if m['threads'] != 1 else ''}, "
             f"flags {', '.join(m['flags']) or 'none listed'}; 1-min load average {m['load_average_1min_at_start']} at the start), "
             f"torch {m['torch']}, commit `{(r['commit'] or 'unknown')[:10]}`{' with local changes' if r['dirty'] else ''}, "
             f"{r['created']}, on synthetic records (`benchmarks/results/{name}`).", '',
             '| what | reference (released loader) | clef_nb | ratio | target |', '|---|---|---|---|---|']
    for size, t in r['train'].items():
        lines.append(f"| CLEF training step, {size}, batch {t['batch']} patients | {_n(t['reference']['patients_per_s'], 2)} patients/s | "
                     f"{_n(t['clef_nb']['patients_per_s'], 2)} patients/s | **{t['ratio']:.2f}×** | {t['target']}× {'met' if t['target_met'] else 'not met'} |")
    for size, e in r['embed'].items():
        tgt = f"{e['target']:,} ECG/s {'met' if e['target_met'] else 'not met'}" if e.get('target') else 'report'
        lines.append(f"| `clef_nb.embed`, {size}, {e['precision']}, batch {e['batch_size']} | | {_n(e['ecg_per_s'])} ECG/s | | {tgt} |")
    lines += ['', 'Where a training step\'s time goes (ms per step; data is the wait for the next batch of views):', '',
              '| size | pipeline | data | forward | backward | optimizer |', '|---|---|---|---|---|---|']
    for size, t in r['train'].items():
        for k in ('reference', 'clef_nb'):
            lines.append(f"| {size} | {k} | " + ' | '.join(f'{v:,.0f}' for v in t[k]['phases_ms'].values()) + ' |')
    gpu = r.get('gpu')
    lines += ['', f"GPU: {gpu}." if isinstance(gpu, str) else
              'GPU: ' + '; '.join(f"{s} {g['patients_per_s']} patients/s, {g['model_tflop_per_s']} TFLOP/s" for s, g in gpu.items()) + '.']
    return '\n'.join(lines)


if __name__ == '__main__': print(perf_table())
