"""Random-batch read speed: the preprocessed cache against reading the same records with wfdb, in one run.

    python benchmarks/cache_read.py [--records 1024] [--batch 256] [--repeats 5]

Writes `--records` 12-lead, 10 s, 500 Hz WFDB records (format 16, MIMIC-IV-ECG's layout of one record per
file) into a temporary folder, builds the cache once, then times a random batch of `--batch` records three
ways: a cache fancy-index (what training does), `wfdb.rdrecord` of the same records (raw samples only, no
preprocessing: the most generous baseline), and `read_ecg` + `preprocess` (what a loader without a cache
would do every epoch). Prints the times and ratios and writes them to `benchmarks/results/cache_read_<time>.json`
(with the machine and commit). Run it by hand; it is not a timed test.
"""
import argparse, tempfile, time
from pathlib import Path
import numpy as np, pandas as pd, wfdb
from clef_nb.cache import build_cache, open_cache
from clef_nb.io import LEADS12, read_ecg
from clef_nb.signal import preprocess
from _record import start, write


def write_records(root, n, seed=0):
    "Write `n` 12-lead 10 s 500 Hz records with realistic amplitudes; return their index."
    rng = np.random.default_rng(seed)
    t = np.arange(5000) / 500
    for i in range(n):
        x = 0.8 * np.sin(2 * np.pi * rng.uniform(1, 2) * t)[:, None] * rng.uniform(0.3, 1.5, 12) + 0.05 * rng.standard_normal((5000, 12))
        wfdb.wrsamp(f'{i:08d}', fs=500, units=['mV'] * 12, sig_name=list(LEADS12), p_signal=x, fmt=['16'] * 12,
                    adc_gain=[200.] * 12, baseline=[0] * 12, write_dir=str(root))
    return pd.DataFrame(dict(record_id=[f'{i:08d}' for i in range(n)], path=[f'{i:08d}' for i in range(n)]))


def best_of(f, repeats):
    "Best wall time of `repeats` calls of `f`, in seconds."
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return min(ts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--records', type=int, default=1024)
    ap.add_argument('--batch', type=int, default=256)
    ap.add_argument('--repeats', type=int, default=5)
    a = ap.parse_args()
    res = start('cache_read', records=a.records, batch=a.batch, repeats=a.repeats)
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)/'records'; root.mkdir()
        t0 = time.perf_counter(); idx = write_records(root, a.records); t_write = time.perf_counter() - t0
        t0 = time.perf_counter(); m = build_cache(idx, root, Path(d)/'cache', progress=False); t_build = time.perf_counter() - t0
        t0 = time.perf_counter(); cache = open_cache(Path(d)/'cache'); t_open = time.perf_counter() - t0
        rng = np.random.default_rng(1)
        rows = np.sort(rng.choice(a.records, a.batch, replace=False))
        paths = [str(root/idx.path[r]) for r in rows]
        t_cache = best_of(lambda: np.asarray(cache.signals[rows]), a.repeats)
        t_wfdb = best_of(lambda: [wfdb.rdrecord(p).p_signal for p in paths], a.repeats)
        t_pre = best_of(lambda: [preprocess(read_ecg(p)) for p in paths], max(1, a.repeats // 2))
    print(f'{a.records} records written in {t_write:.1f} s; cache built in {t_build:.1f} s ({m["n_ok"]} ok), opened in {1000 * t_open:.1f} ms')
    print(f'random batch of {a.batch} 12-lead records (best of {a.repeats}):')
    print(f'  cache memmap            {1000 * t_cache:8.1f} ms')
    print(f'  wfdb.rdrecord (raw)     {1000 * t_wfdb:8.1f} ms   cache is {t_wfdb / t_cache:6.1f}x faster')
    print(f'  read_ecg + preprocess   {1000 * t_pre:8.1f} ms   cache is {t_pre / t_cache:6.1f}x faster')
    res.update(write_s=round(t_write, 2), build_s=round(t_build, 2), open_ms=round(1000 * t_open, 2), n_ok=int(m['n_ok']),
               cache_ms=round(1000 * t_cache, 2), wfdb_ms=round(1000 * t_wfdb, 1), read_preprocess_ms=round(1000 * t_pre, 1),
               ratio_wfdb=round(t_wfdb / t_cache, 1), ratio_read_preprocess=round(t_pre / t_cache, 1))
    write(res)


if __name__ == '__main__': main()
