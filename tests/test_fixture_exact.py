"""The fast paths of fixture writing and caching write exactly what the library calls they replace write: `.atr` files as
`wfdb.wrann`, '%.5g' tables as Python's formatting, WFDB headers parsed as wfdb parses them, filters and resampling as scipy's,
and `make_fixtures` the same bytes in worker processes as in one."""
import hashlib
import numpy as np, pytest, wfdb
from fractions import Fraction
from scipy import signal as ss
from wfdb.io import _header
from clef_nb.icentia import write_atr, _decimate2
from clef_nb.aurora import format_5g
from clef_nb.cache import _parse_signal_lines, _parse_record_line, _WFDB_PARSERS, _fast_headers
from clef_nb.signal import _sosfiltfilt, _butter_sos, resample
from clef_nb.downstream import make_fixtures

def test_atr_as_wrann(tmp_path):
    rng = np.random.default_rng(1)
    for t in range(60):   # gaps that need one or several SKIPs, odd and even notes, no note, several rates
        k = int(rng.integers(1, 300)); s = np.sort(rng.integers(0, [1500, 10**5, 10**8, 5*10**9][t % 4], k))
        sym = list(rng.choice(['N', 'S', 'V', 'Q', '+', 'A', 'F', '|', '~'], k)); aux = list(rng.choice(['', 'None', '(AFIB', '(AFL', '(N', ')', 'ab'], k))
        fs = [250, 360, 500.0, 128][t % 4]
        wfdb.wrann('lib', 'atr', s, symbol=sym, aux_note=aux, fs=fs, write_dir=str(tmp_path)); write_atr(tmp_path/'own', s, sym, aux, fs)
        assert (tmp_path/'own.atr').read_bytes() == (tmp_path/'lib.atr').read_bytes(), t
    a = wfdb.rdann(str(tmp_path/'own'), 'atr')
    assert list(a.sample) == list(s) and a.symbol == sym and a.fs == fs

def test_decimate_as_scipy():
    rng = np.random.default_rng(2)
    for x in (rng.standard_normal(15000).astype(np.float32), rng.standard_normal((3, 4001)), np.arange(500)):
        assert _decimate2(x).tobytes() == ss.decimate(x, 2, zero_phase=True).tobytes()

def _slow_5g(x): return ('\n'.join('\t'.join(['%.5g']*x.shape[1]) % r for r in map(tuple, x.tolist())).replace('nan', '') + '\n').encode()

def test_format_5g_as_python():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(100000)*10.0**rng.integers(-40, 40, 100000)
    edge = [0., -0., 1., 9.99995, 99999.5, 99999.49999, 1e-5, 1e-4, 1.2345e-4, 123456, 99999, 1e5, 9.9999e-5, 1e300, 5e-324, np.inf, -np.inf,
            np.nan, 0.125, 2.5, 1234.5, 12345.5, 1e-18, 1e26, 0.9999999999999999, 1e-4*(1 - 1e-16), 0.00099999500000000001]
    x = np.concatenate([x, np.round(x, 3), np.clip(x, -1e38, 1e38).astype(np.float32), np.arange(9275)*0.002, edge, -np.array(edge),
                        rng.integers(-10**6, 10**6, 20000)/1000, rng.integers(-10**6, 10**6, 20000)/10**7, -5.8e5 + 50*rng.standard_normal(5000)])
    x = x[:len(x)//7*7].reshape(-1, 7)
    assert format_5g(x) == _slow_5g(x)
    assert format_5g(x[:, :1]) == _slow_5g(x[:, :1])

def test_header_parsers_as_wfdb(data):
    slow_signal, slow_record = _WFDB_PARSERS
    assert slow_signal.__module__ == 'wfdb.io._header' and _header._parse_signal_lines is slow_signal   # importing clef_nb changes nothing in wfdb
    with _fast_headers(): assert _header._parse_signal_lines is _parse_signal_lines
    assert _header._parse_signal_lines is slow_signal
    heads = []
    for f in sorted(data.rglob('*.hea')):
        l = [s for s in f.read_text(errors='ignore').splitlines() if s.strip() and not s.startswith('#')]
        if len(l) > 1 and '/' not in l[0].split()[0]: heads.append((l[0], l[1:]))
    heads += [('r 2 360 650000 08:15:00 01/01/2230', ['a.dat 16 0(5)/uV 12 1 -3 123 0 I', 'a.dat 212']), ('r 1 250.000000001 100', ['a.dat 16x2:1+24 200/mV 16 0 0 0 0 lead II'])]
    assert len(heads) > 20
    for r, s in heads:
        for fast, slow, arg in ((_parse_record_line, slow_record, r), (_parse_signal_lines, slow_signal, s)):
            a, b = fast(arg), slow(arg)
            assert a == b and list(a) == list(b), arg
            assert all(type(u) is type(v) for k in a for u, v in (zip(a[k], b[k]) if isinstance(a[k], list) else [(a[k], b[k])])), arg

def test_filters_as_scipy():
    rng = np.random.default_rng(4)
    for fs, n, pad in [(500, 5000, 999), (500, 5000, None), (250, 3000, 499), (100, 700, 199)]:
        sos, zi = _butter_sos(4, 0.67, 40., fs)
        for x in (rng.standard_normal((12, n)).astype(np.float32), rng.standard_normal(n)):
            assert _sosfiltfilt(sos, zi, x, pad).tobytes() == ss.sosfiltfilt(sos, x, axis=-1, padlen=pad).tobytes()
    for f0 in (250, 360, 1000, 100, 257):
        r = Fraction(500/f0).limit_denominator(1000)
        for x in (rng.standard_normal((2, 3000)).astype(np.float32), rng.standard_normal((1, 999))):
            assert resample(x, f0, 500).tobytes() == ss.resample_poly(x, r.numerator, r.denominator, axis=-1).astype(np.float32).tobytes()

def _digest(folder):
    return {str(f.relative_to(folder)): hashlib.sha1(f.read_bytes()).hexdigest() for f in sorted(folder.rglob('*'))
            if f.is_file() and f.name not in ('manifest.json', 'skipped.jsonl')}   # these record the build time and absolute paths

def test_make_fixtures_workers_same_bytes(tmp_path):
    sets, times = ('music', 'aurora_bp', 'chapman'), {}
    a = make_fixtures(tmp_path/'one', 5, sets, cache=tmp_path/'one_cache')
    b = make_fixtures(tmp_path/'two', 5, sets, cache=tmp_path/'two_cache', workers=2, times=times)
    assert list(a) == list(b) == list(sets) and sorted(times) == sorted(sets)
    assert all(t['write_s'] > 0 and t['cache_s'] > 0 for t in times.values())
    assert _digest(tmp_path/'one') == _digest(tmp_path/'two') and len(_digest(tmp_path/'one')) > 100
    assert _digest(tmp_path/'one_cache') == _digest(tmp_path/'two_cache') and (tmp_path/'two_cache'/'aurora_bp'/'signals.npy').is_file()
