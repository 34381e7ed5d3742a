"""No fixture label contradicts its ECG: every statement a fixture record carries shows its defining feature, read from the
simulator's state (independent clinical thresholds, not the writer's own table) and, where the signal shows it directly, from the record."""
import ast
import numpy as np, pandas as pd, pytest
from clef_nb.ptbxl import write_ptbxl_fixture, read_ptbxl_index, _shown
from clef_nb.io import read_ecg

# statement: conditions on the simulated state (column, lo, hi), written from the statements' clinical meaning
CLINICAL = {
    'NORM': [('af', 0, 0), ('strain', 0, 0.1), ('qrs', 0, 110), ('pr', 120, 200), ('hr', 50, 100)],
    'CLBBB': [('qrs', 120, 1e9)], 'CRBBB': [('qrs', 120, 1e9)], 'IRBBB': [('qrs', 100, 1e9)], 'PACE': [('qrs', 120, 1e9), ('pace', 1, 1)],
    'STD_': [('strain', 0.5, 1)], 'INVT': [('strain', 0.8, 1)], 'ISC_': [('strain', 0.5, 1)],
    'AFIB': [('af', 1, 1)], 'AFLT': [('af', 1, 1)], 'SR': [('af', 0, 0)], 'STACH': [('af', 0, 0), ('hr', 100, 1e9)],
    'SBRAD': [('af', 0, 0), ('hr', 0, 60)], '1AVB': [('af', 0, 0), ('pr', 200, 1e9)], 'LPR': [('af', 0, 0), ('pr', 200, 1e9)],
    'LAFB': [('axis', -1e9, -45)], 'LPFB': [('axis', 90, 1e9)], 'LNGQT': [('qtc', 460, 1e9)],
    'LVOLT': [('volt', 0, 0.5)], 'HVOLT': [('volt', 1.8, 1e9)], 'VCLVH': [('volt', 1.8, 1e9)], 'LVH': [('volt', 1.8, 1e9)],
    'PVC': [('n_pvc', 1, 1e9)], 'BIGU': [('n_pvc', 3, 1e9)], 'TRIGU': [('n_pvc', 2, 1e9)], 'PAC': [('n_pac', 1, 1e9), ('af', 0, 0)]}

@pytest.fixture(scope='module')
def ptbxl(tmp_path_factory):
    root = tmp_path_factory.mktemp('ptbxl')/'1.0.3'
    truth = write_ptbxl_fixture(root, seed=3)
    db = pd.read_csv(root/'ptbxl_database.csv')
    return root, truth.assign(pace=truth.get('pace', 0)).fillna({'pace': 0}).set_index('ecg_id'), db

def test_every_statement_shows_its_clinical_feature(ptbxl):
    root, truth, db = ptbxl
    checked, bad = 0, []
    for r in db.itertuples():
        st = truth.loc[r.ecg_id]
        for s in ast.literal_eval(r.scp_codes):
            for col, lo, hi in CLINICAL.get(s, []):
                checked += 1
                if not lo <= st[col] <= hi: bad.append((r.ecg_id, s, col, st[col]))
    assert checked > 300 and not bad, bad[:5]

def test_writer_table_agrees_and_every_class_is_present(ptbxl):
    root, truth, db = ptbxl
    assert _shown(truth.reset_index(), truth.reset_index()).all(axis=None)
    ix, _ = read_ptbxl_index(root)
    for col in ('diag', 'form', 'rhythm'):
        assert ix[col].str.len().gt(0).all()   # every record has a statement of each kind

def test_paced_records_show_spikes_and_af_records_irregular_rr(ptbxl):
    root, truth, db = ptbxl
    step = {}
    for r in db.itertuples():
        x = read_ecg(root/r.filename_hr).signal[1]           # lead II, as written (no filtering)
        step[r.ecg_id] = np.abs(np.diff(x)).max()
    paced = truth.index[truth.pace == 1]
    assert len(paced) >= 2 and min(step[i] for i in paced) > 1.2 > max(step[i] for i in truth.index.difference(paced))
    codes = db.set_index('ecg_id').scp_codes.map(ast.literal_eval)
    af = [i for i, c in codes.items() if 'AFIB' in c or 'AFLT' in c]
    assert len(af) >= 4 and (truth.loc[af, 'af'] == 1).all()


# Chapman acronym: conditions on the simulated state, from the labels' clinical meaning (SNOMED-CT names in `chapman.SNOMED`)
CHAPMAN = {
    'SR': [('af', 0, 0), ('hr', 60, 100)], 'SB': [('af', 0, 0), ('hr', 0, 60)], 'ST': [('af', 0, 0), ('hr', 100, 1e9)],
    'AFIB': [('af', 1, 1)], 'AF': [('af', 1, 1)], 'SVT': [('af', 0, 0), ('hr', 150, 1e9)], 'AT': [('af', 0, 0), ('hr', 100, 1e9)],
    'SA': [('af', 0, 0), ('rsa', 8, 1e9)], '1AVB': [('pr', 200, 1e9)], 'AVB': [('pr', 200, 1e9)], 'PRIE': [('pr', 200, 1e9)],
    '2AVB': [('pr', 200, 1e9), ('hr', 0, 60)], '2AVB1': [('pr', 200, 1e9), ('hr', 0, 60)],
    'LBBB': [('qrs', 120, 1e9)], 'RBBB': [('qrs', 120, 1e9)], 'WPW': [('pr', 0, 120), ('qrs', 110, 1e9)],
    'VEB': [('qrs', 120, 1e9), ('hr', 0, 50)], 'JEB': [('hr', 0, 60)], 'LVH': [('volt', 1.8, 1e9)], 'RVH': [('axis', 90, 1e9)],
    'ARS': [('axis', 90, 1e9)], 'ALS': [('axis', -1e9, -30)], 'QTIE': [('qtc', 460, 1e9)],
    'STDD': [('strain', 0.5, 1)], 'TWO': [('strain', 0.8, 1)], 'STTC': [('strain', 0.3, 1)], 'TWC': [('strain', 0.3, 1)],
    'MI': [('strain', 0.3, 1)], 'AQW': [('volt', 0, 1.0)],
    'VPB': [('n_pvc', 1, 1e9)], 'VB': [('n_pvc', 3, 1e9)], 'APB': [('n_pac', 1, 1e9), ('af', 0, 0)]}


@pytest.fixture(scope='module')
def chapman(tmp_path_factory):
    from clef_nb.chapman import write_chapman_fixture
    root = tmp_path_factory.mktemp('chapman')
    truth = write_chapman_fixture(root, seed=3).set_index('record_id')
    tab = pd.concat([pd.read_csv(root/f'chapman_{s}.csv') for s in ('train', 'val', 'test')])
    return truth, tab.assign(record_id=tab.ecg_path.str.extract(r'(JS\d+)\.mat$')[0]).set_index('record_id')


def test_every_chapman_label_shows_its_clinical_feature(chapman):
    truth, tab = chapman
    checked, bad = 0, []
    for rid, dx in tab.diagnose.items():
        st = truth.loc[rid]
        for s in dx.split(','):
            for col, lo, hi in CHAPMAN.get(s, []):
                checked += 1
                if not lo <= st[col] <= hi: bad.append((rid, s, col, st[col]))
    assert checked > 300 and not bad, bad[:5]


def test_chapman_patients_are_drawn_for_their_state(chapman):
    "Records labelled MI are picked for the infarct state; records of rhythm-only labels carry no infarct (nothing beyond their label is on)."
    truth, _ = chapman
    assert (truth.given[truth.label == 'MI'] == 'mi').all() and (truth.mi[truth.label.isin(['SR', 'SA', 'ST'])] == 0).all()
