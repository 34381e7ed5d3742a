"""Write the bedside-monitor fixtures in this folder (SYNTHETIC signals in the exact file layouts of two real databases).

- `a901l`: the PhysioNet/CinC Challenge 2015 layout (false-alarm records such as `a103l`): a MATLAB v4 `.mat`
  holding one int16 matrix `val` (signals × samples, column-major, so the samples interleave as WFDB format 16)
  after a 24-byte header, hence `16+24` in the header; 250 Hz; ECG leads `II` and `V` in mV beside `PLETH` and
  `RESP` in normalised units (NU) and `ABP` in mmHg; the alarm type and its truth as comment lines.
- `3900001_0001`: a MIMIC-III Waveform Database segment: format 80 (8-bit offset binary) at 125 Hz, ECG `II`,
  `AVR`, `V` in mV beside `RESP` (pm), `PLETH` (NU), `ABP` (mmHg).
Run `python make_fixtures.py` in this folder to rewrite them.
"""
import struct
import numpy as np


def _checksum(v):
    "WFDB checksum: the sum of the digital samples as a signed 16-bit number."
    c = int(v.astype(np.int64).sum()) % 65536
    return c - 65536 if c >= 32768 else c


def _signals(fs, seconds, seed=0):
    "ECG-like spikes at 75 bpm, a pulse wave, a pressure wave and a breathing wave, float64."
    t = np.arange(int(fs * seconds)) / fs
    beat = (t * 1.25) % 1
    ecg = 1.2 * np.exp(-((beat - 0.3) / 0.012) ** 2) - 0.15 * np.exp(-((beat - 0.33) / 0.015) ** 2) + 0.25 * np.exp(-((beat - 0.6) / 0.05) ** 2)
    rng = np.random.default_rng(seed)
    return dict(ecg=ecg + 0.01 * rng.standard_normal(len(t)), pleth=0.5 + 0.4 * np.sin(2 * np.pi * 1.25 * t) ** 2,
                abp=90 + 25 * np.sin(2 * np.pi * 1.25 * t) ** 2, resp=0.5 + 0.3 * np.sin(2 * np.pi * 0.25 * t))


def write_cinc2015(name='a901l', fs=250, seconds=12):
    s = _signals(fs, seconds)
    chans = [('II', 'mV', 7247.0, s['ecg']), ('V', 'mV', 10520.0, 0.6 * s['ecg']), ('PLETH', 'NU', 12530.0, s['pleth']),
             ('ABP', 'mmHg', 110.0, s['abp']), ('RESP', 'NU', 6400.0, s['resp'])]
    val = np.stack([np.round(g * x).astype(np.int16) for _, _, g, x in chans])  # (signals, samples)
    with open(f'{name}.mat', 'wb') as f:  # MATLAB v4: type 30 (int16, little-endian), rows, cols, imag, name length
        f.write(struct.pack('<5i', 30, val.shape[0], val.shape[1], 0, 4) + b'val\x00')
        f.write(val.T.astype('<i2').tobytes())  # column-major
    lines = [f'{name} {len(chans)} {fs} {val.shape[1]}']
    for (n, u, g, _), v in zip(chans, val):
        lines.append(f'{name}.mat 16+24 {g:g}/{u} 16 0 {v[0]} {_checksum(v)} 0 {n}')
    lines += ['# Asystole', '# False alarm']
    open(f'{name}.hea', 'w').write('\n'.join(lines) + '\n')


def write_mimic3_segment(name='3900001_0001', fs=125, seconds=12):
    s = _signals(fs, seconds, seed=1)
    chans = [('II', 'mV', 80.0, 0, s['ecg']), ('AVR', 'mV', 80.0, 0, -0.5 * s['ecg']), ('V', 'mV', 80.0, 0, 0.8 * s['ecg']),
             ('RESP', 'pm', 200.0, -128, s['resp']), ('PLETH', 'NU', 200.0, -128, s['pleth']), ('ABP', 'mmHg', 1.0, -128, s['abp'])]
    adc = np.stack([np.clip(np.round(g * x) + b, -127, 127).astype(np.int16) for _, _, g, b, x in chans])  # digital values
    stored = adc.T + 128  # format 80: offset binary, interleaved
    open(f'{name}.dat', 'wb').write(stored.astype(np.uint8).tobytes())
    lines = [f'{name} {len(chans)} {fs} {adc.shape[1]}']
    for (n, u, g, b, _), v in zip(chans, adc):
        lines.append(f'{name}.dat 80 {g:g}({b})/{u} 8 0 {v[0]} {_checksum(v)} 0 {n}')
    open(f'{name}.hea', 'w').write('\n'.join(lines) + '\n')


if __name__ == '__main__':
    write_cinc2015(); write_mimic3_segment()
