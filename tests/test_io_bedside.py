"Bedside-monitor records: ECG leads read beside non-ECG signals (PLETH, ABP, RESP) in the layouts of the PhysioNet/CinC 2015 alarm records and MIMIC-III waveform segments (SYNTHETIC signals, see tests/data/bedside)."
import shutil
import numpy as np, pytest
from clef_nb.io import read_ecg, read_batch, NotECGError, LeadError, HeaderError, channel_kind
from clef_nb.signal import preprocess, rpeaks, hrv


def test_cinc2015_layout_reads_ecg_and_lists_the_rest(data):
    e = read_ecg(data/'bedside/a901l')
    assert e.leads == ['II', 'V'] and e.fs == 250 and e.signal.shape == (2, 3000) and e.signal.dtype == np.float32
    assert [(o['name'], o['unit'], o['fs']) for o in e.other] == [('PLETH', 'NU', 250.0), ('ABP', 'mmHg', 250.0), ('RESP', 'NU', 250.0)]
    assert 'other signals PLETH (NU), ABP (mmHg), RESP (NU)' in repr(e)
    assert 0.9 < e.lead('II').max() < 1.5  # mV, not the pressure's scale
    assert read_ecg(data/'bedside/a901l.mat', leads='II').leads == ['II']


def test_mimic3_segment_reads_ecg_and_lists_the_rest(data):
    e = read_ecg(data/'bedside/3900001_0001')
    assert e.leads == ['II', 'aVR', 'V'] and e.fs == 125 and e.signal.shape == (3, 1500)
    assert [(o['name'], o['unit']) for o in e.other] == [('RESP', 'pm'), ('PLETH', 'NU'), ('ABP', 'mmHg')]


@pytest.mark.parametrize('rec,lead,unit', [('a901l', 'PLETH', 'NU'), ('a901l', 'ABP', 'mmHg'), ('3900001_0001', 'RESP', 'pm')])
def test_asking_for_a_non_ecg_channel_is_a_named_error(data, rec, lead, unit):
    with pytest.raises(NotECGError, match=f"{rec}: '{lead}' is not an ECG lead") as ei:
        read_ecg(data/'bedside'/rec, leads=['II', lead])
    assert isinstance(ei.value, LeadError) and str(data/'bedside'/rec) in str(ei.value)


def test_record_without_ecg_is_a_named_error(data, tmp_path):
    shutil.copy(data/'bedside/a901l.mat', tmp_path/'a901l.mat')
    h = (data/'bedside/a901l.hea').read_text().replace('/mV', '/NU').replace(' 0 II\n', ' 0 PLETH2\n').replace(' 0 V\n', ' 0 PULSE\n')
    (tmp_path/'a901l.hea').write_text(h)
    with pytest.raises(NotECGError, match=r"a901l: no ECG channel; it has only PLETH2, PULSE, PLETH, ABP, RESP"):
        read_ecg(tmp_path/'a901l')


def test_preprocess_and_batch_keep_the_other_signals(data):
    pre = preprocess(read_ecg(data/'bedside/a901l'), seconds=10)
    assert pre.signal.shape == (2, 5000) and [o['name'] for o in pre.other] == ['PLETH', 'ABP', 'RESP']
    assert 70 < hrv(rpeaks(pre.lead('II'), pre.fs), pre.fs)['hr'] < 80  # the fixture beats at 75 bpm
    good, skipped = read_batch([data/'bedside/a901l', data/'bedside/3900001_0001'], leads=['II'], progress=False)
    assert len(good) == 2 and skipped.empty


def test_channel_kinds():
    assert [channel_kind(*c) for c in [('ECG', 'mV'), ('MLII', ''), ('CM5', 'mV'), ('SpO2', '%'), ('ART', 'mmHg'), ('Resp', 'Ohm')]] == ['ecg', 'ecg', 'ecg', 'other', 'other', 'other']
    assert channel_kind('V2', 'mmHg') == 'bad'


def test_lead_name_in_a_non_voltage_unit_stays_a_header_error(data, tmp_path):
    shutil.copy(data/'bedside/a901l.mat', tmp_path/'a901l.mat')
    (tmp_path/'a901l.hea').write_text((data/'bedside/a901l.hea').read_text().replace('10520/mV', '10520/NU'))
    with pytest.raises(HeaderError, match=r"a901l: unknown signal units \[\('V', 'NU'\)\]"):
        read_ecg(tmp_path/'a901l')
    assert read_ecg(tmp_path/'a901l', leads=['II']).leads == ['II']
