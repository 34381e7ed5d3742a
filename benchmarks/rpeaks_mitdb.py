"""R-peak detection on the real MIT-BIH Arrhythmia Database 100 series against its expert beat annotations, with
wfdb's XQRS scored in the same run.

    python benchmarks/rpeaks_mitdb.py [--mitdb ../shared/data/mitdb] [--tol 0.15]

Scores `clef_nb.signal.rpeaks` and XQRS on the first channel of every annotated record in the folder
(`clef_nb.signal.evaluate_rpeaks`: beats matched within `--tol` seconds), prints the per-record table and writes the
totals to `benchmarks/results/rpeaks_mitdb_<time>.json`. `tests/test_rpeaks_mitdb.py` asserts the same comparison.
"""
import argparse, os, time
from pathlib import Path
from clef_nb.signal import evaluate_rpeaks
from _record import ROOT, start, write


def default_mitdb()->Path:
    "`$CLEF_NB_MITDB`, or `shared/data/mitdb` beside the repository or one of its parents."
    if os.environ.get('CLEF_NB_MITDB'): return Path(os.environ['CLEF_NB_MITDB'])
    for d in ROOT.parents:
        if (d/'shared'/'data'/'mitdb').is_dir(): return d/'shared'/'data'/'mitdb'
    raise SystemExit('MIT-BIH 100 series not found: pass --mitdb or set CLEF_NB_MITDB')


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--mitdb', default=None, help='folder of records 100-124 (.hea, .dat, .atr)')
    ap.add_argument('--tol', type=float, default=0.15, help='matching tolerance, seconds')
    a = ap.parse_args()
    folder = Path(a.mitdb) if a.mitdb else default_mitdb()
    res = start('rpeaks_mitdb', tol_s=a.tol, channel=0, folder=folder.name)
    t0 = time.perf_counter(); t = evaluate_rpeaks(folder, tol=a.tol); secs = time.perf_counter() - t0
    print(t[['beats', 'clef_nb_se', 'clef_nb_ppv', 'xqrs_se', 'xqrs_ppv']].to_string())
    tot = t.loc['total']
    res.update(records=len(t) - 1, beats=int(tot.beats), seconds=round(secs, 1),
               **{f'{d}_{m}': float(tot[f'{d}_{m}']) for d in ('clef_nb', 'xqrs') for m in ('se', 'ppv')})
    write(res)


if __name__ == '__main__': main()
