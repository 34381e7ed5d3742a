"Bad input battery: every damaged record gives its own exception, and its message names the record and the problem."
import re, shutil
import numpy as np, pytest, wfdb
from clef_nb.io import (read_ecg, read_batch, ECGError, RecordNotFound, HeaderError, SignalFileError,
                        SamplingRateError, LeadError, QualityError, TooShortError)
from clef_nb.signal import preprocess


def _write(folder, name='rec', seconds=10, fs=500, leads=('I', 'II', 'V1'), nan_lead=None, flat_lead=None):
    "Write a small valid WFDB record (format 16, 200 adu/mV) and return its path without extension."
    t = np.arange(int(seconds * fs)) / fs
    x = np.stack([np.sin(2 * np.pi * (1 + i) * t) * 0.5 + 0.1 * np.random.default_rng(i).standard_normal(len(t)) for i in range(len(leads))], 1)
    if nan_lead is not None: x[:, nan_lead] = np.nan
    if flat_lead is not None: x[:, flat_lead] = 0.25
    wfdb.wrsamp(name, fs=fs, units=['mV'] * len(leads), sig_name=list(leads), p_signal=x, fmt=['16'] * len(leads),
                adc_gain=[200.] * len(leads), baseline=[0] * len(leads), write_dir=str(folder))
    return folder/name


def _edit_header(rec, old, new):
    h = rec.with_suffix('.hea'); text = h.read_text()
    assert old in text, text
    h.write_text(text.replace(old, new, 1))


def _raises(exc, rec, *parts, fn=read_ecg, **kw):
    "Assert `fn(rec)` raises exactly `exc`, naming the record and every part of the problem."
    with pytest.raises(exc) as e: fn(rec, **kw) if fn is read_ecg else fn(read_ecg(rec), **kw)
    assert type(e.value) is exc, type(e.value)
    msg = str(e.value)
    assert msg.startswith(str(rec) if fn is read_ecg else f'{rec.name}:'), msg  # preprocessing names the record id
    for p in parts: assert p in msg, (p, msg)
    return msg


def test_valid_record_reads(tmp_path):
    e = read_ecg(_write(tmp_path))
    assert e.leads == ['I', 'II', 'V1'] and e.signal.shape == (3, 5000) and e.fs == 500


def test_missing_dat(tmp_path):
    rec = _write(tmp_path); rec.with_suffix('.dat').unlink()
    _raises(SignalFileError, rec, "signal file 'rec.dat' named in the header is missing")


def test_truncated_dat(tmp_path):
    rec = _write(tmp_path); d = rec.with_suffix('.dat')
    d.write_bytes(d.read_bytes()[:12345])
    _raises(SignalFileError, rec, 'holds 12345 bytes', 'need 30000', 'truncated')


def test_header_sample_count_larger_than_file(tmp_path):
    rec = _write(tmp_path); _edit_header(rec, 'rec 3 500 5000', 'rec 3 500 9000')
    _raises(SignalFileError, rec, "header's 9000 samples × 3 channels need 54000")


def test_corrupt_header_line(tmp_path):
    rec = _write(tmp_path); _edit_header(rec, 'rec.dat 16 200', 'rec.dat sixteen ???')
    _raises(HeaderError, rec, 'line 2: cannot parse signal line', 'sixteen')


def test_header_signal_count_mismatch(tmp_path):
    rec = _write(tmp_path); _edit_header(rec, 'rec 3 500', 'rec 4 500')
    _raises(HeaderError, rec, 'declares 4 signals but has 3 signal lines')


def test_binary_header(tmp_path):
    rec = _write(tmp_path); rec.with_suffix('.hea').write_bytes(b'\xff\xfe\x00garbage\x81')
    _raises(HeaderError, rec, 'header is not text')


@pytest.mark.parametrize('fs', ['0', '-500', 'fast'])
def test_bad_sampling_rate(tmp_path, fs):
    rec = _write(tmp_path); _edit_header(rec, 'rec 3 500 5000', f'rec 3 {fs} 5000')
    _raises(SamplingRateError, rec, f"sampling rate '{fs}' is not a positive number")


def test_sampling_rate_too_low_for_band(tmp_path):
    rec = _write(tmp_path, fs=60)
    _raises(SamplingRateError, rec, 'sampling rate 60 Hz is too low for a 40 Hz low-pass', fn=preprocess)


def test_unknown_units(tmp_path):
    rec = _write(tmp_path); _edit_header(rec, '200.0(0)/mV', '200.0(0)/furlong')
    _raises(HeaderError, rec, "unknown signal units [('I', 'furlong')]")


def test_all_nan_lead(tmp_path):
    rec = _write(tmp_path, nan_lead=1)
    assert np.isnan(read_ecg(rec).lead('II')).all()
    _raises(QualityError, rec, 'lead II is more than 50% NaN', fn=preprocess)
    e = preprocess(read_ecg(rec), on_bad='flag')
    assert e.flags['nan_frac'].tolist() == [0, 1, 0] and e.flags['flat'].tolist() == [False, True, False]
    assert np.isfinite(e.signal).all() and not e.lead('II').any()


def test_flat_lead(tmp_path):
    rec = _write(tmp_path, flat_lead=2)
    _raises(QualityError, rec, 'lead V1 is flat', fn=preprocess)


def test_short_record_without_padding(tmp_path):
    rec = _write(tmp_path, seconds=4)
    _raises(TooShortError, rec, '4.0 s long, 10 s requested and pad=False', fn=preprocess, pad=False)
    assert preprocess(read_ecg(rec)).flags['pad_frac'] == pytest.approx(0.6)


def test_duplicate_lead_names(tmp_path):
    rec = _write(tmp_path, leads=('I', 'II', 'ii'))
    _raises(LeadError, rec, "duplicate lead names ['II']")


def test_unknown_lead_requested(tmp_path):
    rec = _write(tmp_path)
    _raises(LeadError, rec, "no lead 'V7'; it has I, II, V1", leads=['I', 'V7'])


def test_nonexistent_path(tmp_path):
    rec = tmp_path/'nowhere'/'rec'
    _raises(RecordNotFound, rec, 'no header file rec.hea')


def test_directory_instead_of_record(tmp_path):
    _write(tmp_path)
    _raises(RecordNotFound, tmp_path, 'is a directory, not a WFDB record')


def test_header_without_sampling_rate(tmp_path):
    rec = _write(tmp_path); _edit_header(rec, 'rec 3 500 5000', 'rec 3')
    _raises(SamplingRateError, rec, 'gives no sampling rate')


def test_batch_keeps_good_records_and_reports_the_rest(tmp_path, caplog):
    good = [_write(tmp_path, name=f'ok{i}') for i in range(3)]
    nodat = _write(tmp_path, name='nodat'); nodat.with_suffix('.dat').unlink()
    flat = _write(tmp_path, name='flat', flat_lead=0)
    short = _write(tmp_path, name='short', seconds=3)
    paths = [good[0], nodat, good[1], flat, tmp_path/'ghost', short, good[2]]
    ecgs, skipped = read_batch(paths, transform=lambda e: preprocess(e, pad=False), progress=False)
    assert [e.record_id for e in ecgs] == ['ok0', 'ok1', 'ok2']
    assert skipped.error.tolist() == ['SignalFileError', 'QualityError', 'RecordNotFound', 'TooShortError']
    assert [re.sub(r'.*/', '', r) for r in skipped.record] == ['nodat', 'flat', 'ghost', 'short']
    assert all(skipped.reason.str.len() > 10)
    assert 'skipped 4 of 7 records' in caplog.text


def test_batch_does_not_hide_bugs(tmp_path):
    rec = _write(tmp_path)
    def broken(e): raise ZeroDivisionError('a bug, not a bad record')
    with pytest.raises(ZeroDivisionError): read_batch([rec], transform=broken, progress=False)


def test_every_error_is_an_ecg_error():
    for exc in (RecordNotFound, HeaderError, SignalFileError, SamplingRateError, LeadError, QualityError, TooShortError):
        assert issubclass(exc, ECGError)
