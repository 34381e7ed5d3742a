"""Time the synthetic pretraining data pipeline end to end: generate a cohort in MIMIC-IV-ECG's layout, index it,
derive per-ECG metadata and SCORE2 from the hosp tables, split patients, and build the preprocessed cache.

    python benchmarks/cohort_pipeline.py [--patients 2000] [--workers 2]

Prints the time of each stage and the total, and writes them to `benchmarks/results/cohort_pipeline_<time>.json`
(with the machine and commit). Run it by hand; it is not a timed test.
"""
import argparse, tempfile, time
from pathlib import Path
from clef_nb.cache import build_cache
from clef_nb.mimic import ecg_metadata, patient_split, read_record_list, check_splits
from clef_nb.synth import make_cohort
from _record import start, write


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--patients', type=int, default=2000)
    ap.add_argument('--workers', type=int, default=2)
    a = ap.parse_args()
    res, times = start('cohort_pipeline', patients=a.patients, workers=a.workers), {}
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)/'mimic-iv-ecg'
        t = time.perf_counter(); c = make_cohort(root, a.patients, seed=0); times['generate cohort'] = time.perf_counter() - t
        t = time.perf_counter(); idx = read_record_list(root); times['index (record_list.csv)'] = time.perf_counter() - t
        t = time.perf_counter(); meta, skipped = ecg_metadata(root); times['metadata + SCORE2 (+ HR/HRV from signals)'] = time.perf_counter() - t
        t = time.perf_counter(); meta['split'] = patient_split(meta.patient_id); check_splits(meta.patient_id, meta.split); times['patient split'] = time.perf_counter() - t
        t = time.perf_counter(); m = build_cache(meta[['record_id', 'patient_id', 'path']], root, Path(d)/'cache', workers=a.workers, progress=False)
        times['preprocessed cache'] = time.perf_counter() - t
    print(f'{a.patients} patients, {len(idx)} ECGs, {int(meta.score2_risk.notna().sum())} with SCORE2, {len(skipped)} hosp rows skipped, '
          f'{m["n_ok"]} cached ({m["n_skipped"]} skipped)')
    for k, v in times.items(): print(f'  {k:45s} {v:7.1f} s')
    print(f'  {"total":45s} {sum(times.values()):7.1f} s')
    res.update(ecgs=len(idx), with_score2=int(meta.score2_risk.notna().sum()), hosp_rows_skipped=len(skipped), cached=int(m['n_ok']),
               stages_s={k: round(v, 1) for k, v in times.items()}, total_s=round(sum(times.values()), 1))
    write(res)


if __name__ == '__main__': main()
