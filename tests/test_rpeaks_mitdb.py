"R-peaks on the whole MIT-BIH Arrhythmia Database 100 series (23 real records), with wfdb's XQRS measured beside them."
import os
from pathlib import Path
import pytest
from clef_nb.signal import evaluate_rpeaks

ROOT = Path(__file__).resolve().parents[1]


def _mitdb():
    "The MIT-BIH folder: `$CLEF_NB_MITDB`, or `shared/data/mitdb` beside the repository or one of its parents."
    if os.environ.get('CLEF_NB_MITDB'): return Path(os.environ['CLEF_NB_MITDB'])
    for d in ROOT.parents:
        if (d/'shared'/'data'/'mitdb').is_dir(): return d/'shared'/'data'/'mitdb'
    pytest.fail('MIT-BIH 100 series not found: set CLEF_NB_MITDB to the folder of records 100-124 (.hea, .dat, .atr)')


def test_rpeaks_beat_xqrs_on_mitdb_100_series():
    t = evaluate_rpeaks(_mitdb())
    print(t[['beats', 'clef_nb_se', 'clef_nb_ppv', 'xqrs_se', 'xqrs_ppv']].to_string())
    assert len(t) == 24 and t.loc['total', 'beats'] == 47647
    tot = t.loc['total']
    assert tot.clef_nb_se >= 99.5 and tot.clef_nb_ppv >= 99.5, tot
    assert tot.clef_nb_se >= tot.xqrs_se and tot.clef_nb_ppv >= tot.xqrs_ppv, tot
    assert (t.clef_nb_se >= 97).all() and (t.clef_nb_ppv >= 97).all(), t  # no record left behind
