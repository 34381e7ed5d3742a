"The preprocessed cache: resumes after SIGKILL to the same bytes, skips bad records with reasons, rebuilds when sources change."
import json, os, signal, subprocess, sys, time
from pathlib import Path
import numpy as np, pandas as pd, pytest, wfdb
from clef_nb.cache import build_cache, open_cache, CacheSpec


def _dataset(root, n, seed=0):
    "Write `n` small 12-lead 12 s 500 Hz WFDB records in `root` and return their index."
    rng = np.random.default_rng(seed)
    t = np.arange(6000) / 500
    for i in range(n):
        x = np.sin(2 * np.pi * rng.uniform(0.8, 2) * t)[:, None] * rng.uniform(0.5, 1.5, 12) + 0.05 * rng.standard_normal((6000, 12))
        wfdb.wrsamp(f'r{i:04d}', fs=500, units=['mV'] * 12, sig_name=['I', 'II', 'III', 'aVR', 'aVL', 'aVF', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6'],
                    p_signal=x, fmt=['16'] * 12, adc_gain=[200.] * 12, baseline=[0] * 12, write_dir=str(root))
    return pd.DataFrame(dict(record_id=[f'r{i:04d}' for i in range(n)], path=[f'r{i:04d}' for i in range(n)]))


def test_kill_and_resume_gives_identical_cache(tmp_path):
    root = tmp_path/'data'; root.mkdir()
    idx = _dataset(root, 96)
    idx.to_csv(tmp_path/'idx.csv', index=False)
    code = (f"import pandas as pd, time; import clef_nb.cache as c; import clef_nb.signal as s; p = s.preprocess\n"
            f"def slow(*a, **k): time.sleep(0.03); return p(*a, **k)\n"
            f"c.preprocess = slow\n"
            f"c.build_cache(pd.read_csv({str(tmp_path/'idx.csv')!r}, dtype=str), {str(root)!r}, {str(tmp_path/'part')!r}, workers=0, chunk=8, progress=False)")
    proc = subprocess.Popen([sys.executable, '-c', code], start_new_session=True)
    status = tmp_path/'part'/'status.npy'
    for _ in range(600):
        time.sleep(0.05)
        try:
            if (np.load(status) > 0).sum() >= 24: break
        except (FileNotFoundError, ValueError, OSError, EOFError): pass
    os.killpg(proc.pid, signal.SIGKILL); proc.wait()
    done = int((np.load(status) > 0).sum())
    assert 24 <= done < 96, done
    assert not json.loads((tmp_path/'part'/'manifest.json').read_text())['complete']
    with pytest.raises(ValueError, match='did not finish'): open_cache(tmp_path/'part')
    m = build_cache(idx, root, tmp_path/'part', workers=0, progress=False)
    assert m['n_reused'] == done and m['n_built'] == 96 - done and m['n_ok'] == 96
    clean = build_cache(idx, root, tmp_path/'clean', workers=2, chunk=16, progress=False)
    a, b = open_cache(tmp_path/'part'), open_cache(tmp_path/'clean')
    assert np.array_equal(np.asarray(a.signals), np.asarray(b.signals))
    assert clean['sources_key'] == m['sources_key']


def test_bad_records_are_counted_skips(tmp_path):
    root = tmp_path/'data'; root.mkdir()
    idx = _dataset(root, 6)
    (root/'r0001.dat').unlink()
    (root/'r0003.hea').write_text((root/'r0003.hea').read_text().replace('r0003 12 500', 'r0003 12 -500'))
    idx.loc[len(idx)] = ['ghost', 'ghost']
    m = build_cache(idx, root, tmp_path/'c', workers=0, progress=False)
    assert (m['n_records'], m['n_ok'], m['n_skipped']) == (7, 4, 3)
    assert [(Path(s['record']).name, s['error']) for s in m['skipped']] == [('r0001', 'SignalFileError'), ('r0003', 'SamplingRateError'), ('ghost', 'RecordNotFound')]
    c = open_cache(tmp_path/'c')
    assert c.index.ok.tolist() == [True, False, True, False, True, True, False]
    assert not np.asarray(c.signals[1]).any()


def test_changed_source_or_spec_rebuilds(tmp_path):
    root = tmp_path/'data'; root.mkdir()
    idx = _dataset(root, 4)
    build_cache(idx, root, tmp_path/'c', workers=0, progress=False)
    assert build_cache(idx, root, tmp_path/'c', workers=0, progress=False)['n_built'] == 0
    _dataset(root, 1, seed=7)  # r0000 rewritten with other samples: same header layout, new content
    (root/'r0000.hea').write_text((root/'r0000.hea').read_text() + '# re-exported\n')
    assert build_cache(idx, root, tmp_path/'c', workers=0, progress=False)['n_built'] == 4
    m = build_cache(idx, root, tmp_path/'c', CacheSpec(seconds=5), workers=0, progress=False)
    assert m['n_built'] == 4 and open_cache(tmp_path/'c').signals.shape == (4, 12, 2500)
