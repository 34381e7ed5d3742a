"""The README's performance tables, made from the newest committed result of each script in `benchmarks/`.

    python benchmarks/report.py            # prints the markdown tables

`nbs/index.ipynb` calls `perf_table` (pretraining and embedding throughput) and `other_table` (cache reads, the
synthetic data pipeline, the main job, R-peaks on MIT-BIH) so the README and the docs show exactly what the JSON
files record; nothing in either table is typed by hand.
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


def _min_s(x): m, s = divmod(round(x), 60); return f'{m} min {s} s' if m else f'{s} s'


def _cache_read(r):
    return (f"random batch of {r['settings']['batch']} 12-lead 10 s records from the cache vs `wfdb.rdrecord` of the same records",
            f"{r['cache_ms']:,.0f} ms vs {r['wfdb_ms'] / 1000:,.2f} s: **{r['ratio_wfdb']:,.0f}×** ({r['ratio_read_preprocess']:,.0f}× vs reading + preprocessing)")


def _cohort_pipeline(r):
    st = r['stages_s']
    parts = ', '.join(f"{v:,.0f} s {k.split(' (')[0]}" for k, v in st.items() if v >= 1)
    return (f"synthetic data pipeline for {r['settings']['patients']:,} patients ({r['ecgs']:,} ECGs, {r['with_score2']:,} with SCORE2): "
            "cohort, index, metadata + SCORE2 (with HR/HRV from the signals), split, cache",
            f"{r['total_s']:,.0f} s in all ({parts})")


def _main_job(r):
    p = r['parameters']
    return (f"the main job with `-p scale {r['settings']['scale']}` (synthetic default: {p.get('n_patients')} patients, "
            f"{p.get('steps')} steps of {p.get('batch_size')}, plus data preparation and the probe)",
            f"{_min_s(r['seconds'])} on {r['machine']['cpus_available']} CPU cores")


def _rpeaks(r):
    return (f"R-peak detection on the {r['records']} records of the MIT-BIH Arrhythmia 100 series (first channel, "
            f"{r['settings']['tol_s'] * 1000:.0f} ms tolerance) vs the expert annotations, wfdb's XQRS in the same run",
            f"{r['beats']:,} beats: sensitivity {r['clef_nb_se']:.2f} %, positive predictivity {r['clef_nb_ppv']:.2f} % "
            f"(XQRS {r['xqrs_se']:.2f} % / {r['xqrs_ppv']:.2f} %)")


OTHER = dict(cache_read=_cache_read, cohort_pipeline=_cohort_pipeline, main_job=_main_job, rpeaks_mitdb=_rpeaks)


def other_table(results=RESULTS)->str:
    "Markdown: one row per other benchmark, from its newest result, with the file, commit and load it was measured at."
    lines = ['| what | measured | recorded by |', '|---|---|---|']
    for b, row in OTHER.items():
        try: r, name = newest(results, b)
        except FileNotFoundError:
            lines.append(f'| `benchmarks/{b}.py` | not measured yet | |'); continue
        what, got = row(r)
        m = r['machine']
        lines.append(f"| {what} | {got} | `benchmarks/{b}.py` → `{name}` (commit `{(r['commit'] or 'unknown')[:10]}`, "
                     f"load {m['load_average_1min_at_start']} on {m['cpus_available']} CPUs) |")
    return '\n'.join(lines)


if __name__ == '__main__': print(perf_table()); print(); print(other_table())
