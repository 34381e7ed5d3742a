"The vendored real PhysioNet records read and preprocess as documented."
import numpy as np, pytest, wfdb
from clef_nb.io import read_ecg, LEADS12, TooShortError
from clef_nb.signal import preprocess, rpeaks, match_beats, hrv, BEAT_SYMBOLS


def test_ptb_s0010_re(data):
    raw = read_ecg(data/'physionet/s0010_re', leads=LEADS12)
    assert raw.leads == list(LEADS12) and raw.fs == 1000
    e = preprocess(raw)
    assert e.signal.shape == (12, 5000) and e.fs == 500 and e.signal.dtype == np.float32
    assert (e.meta['age'], e.meta['sex']) == (81, 'F')


def test_mitbih_100_resampled(data):
    e = preprocess(read_ecg(data/'physionet/100'))
    assert e.flags['source_fs'] == 360 and e.fs == 500 and e.signal.shape == (2, 5000)
    assert e.leads == ['MLII', 'V5']


def test_mitbih_100_rpeaks_against_annotations(data):
    ann = wfdb.rdann(str(data/'physionet/100'), 'atr')
    ref = ann.sample[np.isin(ann.symbol, BEAT_SYMBOLS)]
    e = read_ecg(data/'physionet/100')
    s = match_beats(ref, rpeaks(e.lead('MLII'), e.fs), e.fs, tol=0.15)
    assert s['sensitivity'] >= 0.995 and s['ppv'] >= 0.995, s


def test_short_nonstandard_record(data):
    e = preprocess(read_ecg(data/'physionet/test01_00s'))
    assert e.leads == ['ECG 1', 'ECG 2', 'ECG 3', 'ECG 4'] and e.flags['pad_frac'] == pytest.approx(0.2)
    with pytest.raises(TooShortError, match='test01_00s: 8.0 s long'): preprocess(read_ecg(data/'physionet/test01_00s'), pad=False)


@pytest.mark.parametrize('name', [f'JS200{i:02d}' for i in range(20)] + [f'HR0600{i}' for i in range(10)])
def test_cinc2021_record(data, name):
    e = read_ecg(data/'cinc2021'/name)
    assert e.leads == list(LEADS12) and e.signal.shape == (12, 5000) and e.fs == 500
    assert 0 < e.meta['age'] < 110 and e.meta['sex'] in ('M', 'F')
    assert e.meta['dx'] and all(c.isdigit() and len(c) >= 6 for c in e.meta['dx'])
    assert 0.2 < np.abs(e.signal).max() < 20  # mV, whether the header spells the unit mV or mv
    assert 35 < hrv(rpeaks(e.signal, e.fs), e.fs)['hr'] < 200
