"The synthetic cohort reads as MIMIC-IV does, through wfdb and through clef_nb.io, and is a pure function of the seed."
import gzip, hashlib
from pathlib import Path
import numpy as np, pandas as pd, pytest, wfdb
from clef_nb.synth import make_cohort, MM_COLS, SENTINEL, ITEM_TC, ITEM_HDL
from clef_nb.simulate import MIMIC_LEADS, COUPLINGS
from clef_nb.io import read_ecg

@pytest.fixture(scope='module')
def cohort(tmp_path_factory):
    return make_cohort(tmp_path_factory.mktemp('c')/'ecg', n_patients=25, seed=11)

def test_every_record_reads_back(cohort):
    rl = pd.read_csv(cohort.root/'record_list.csv')
    assert rl.path.str.fullmatch(r'files/p1\d{3}/p1\d{7}/s4\d{7}/4\d{7}').all()
    assert (rl.path.str[7:11] == rl.subject_id.astype(str).str[:4]).all()
    for p in rl.path:
        r = wfdb.rdrecord(str(cohort.root/p))
        assert r.sig_name == list(MIMIC_LEADS) and r.fs == 500 and r.sig_len == 5000 and set(r.units) == {'mV'}
        assert r.base_date is not None and r.p_signal.dtype == np.float64

def test_signal_matches_simulated_rhythm(cohort):
    "Lead II read back through clef_nb.io has the simulated beat count (a check independent of the generator)."
    e = cohort.ecgs[(cohort.ecgs.af == 0) & ~cohort.ecgs.nan_lead].iloc[0]
    ecg = read_ecg(cohort.root/e.path)
    assert ecg.leads[:6] == ['I', 'II', 'III', 'aVR', 'aVF', 'aVL']
    assert np.nanmax(np.abs(ecg.signal)) < 10
    np.testing.assert_allclose(ecg.signal[2], ecg.signal[1] - ecg.signal[0], atol=0.05)  # Einthoven, through noise and quantisation

def test_tables_have_real_headers(cohort):
    assert list(pd.read_csv(cohort.root/'machine_measurements.csv').columns) == MM_COLS
    with gzip.open(cohort.hosp/'omr.csv.gz', 'rt') as f: assert f.readline().strip() == 'subject_id,chartdate,seq_num,result_name,result_value'
    lab = pd.read_csv(cohort.hosp/'labevents.csv.gz')
    assert {ITEM_TC, ITEM_HDL} <= set(lab.itemid) and set(lab.valueuom) == {'mg/dL'}
    pts = pd.read_csv(cohort.hosp/'patients.csv.gz')
    assert set(pts.subject_id) == set(cohort.patients.subject_id) and set(pts.gender) <= {'M', 'F'}

def test_machine_measurements_match_truth(cohort):
    mm = pd.read_csv(cohort.root/'machine_measurements.csv').set_index('study_id').loc[cohort.ecgs.study_id]
    rr = mm.rr_interval.to_numpy(); ok = rr != SENTINEL
    np.testing.assert_allclose(rr[ok], cohort.ecgs.rr_interval.to_numpy()[ok], atol=0.51)
    af = cohort.ecgs.af.to_numpy() > 0
    assert (mm.p_onset.to_numpy()[af] == SENTINEL).all()
    assert (mm.report_0.to_numpy()[af] == 'Atrial fibrillation').all()

def test_deterministic(tmp_path):
    digest = lambda root: hashlib.sha256(b''.join(p.read_bytes() for p in sorted(Path(root).rglob('*')) if p.is_file())).hexdigest()
    a, b = make_cohort(tmp_path/'a', n_patients=5, seed=7), make_cohort(tmp_path/'b', n_patients=5, seed=7)
    assert digest(a.root) == digest(b.root)

def test_couplings_table_is_consistent():
    assert (COUPLINGS.lo <= COUPLINGS.base).all() and (COUPLINGS.base <= COUPLINGS.hi).all()
    assert COUPLINGS.rho.between(0, 1).all() and set(COUPLINGS.link) <= {'id', 'log', 'logit'}


def test_cardiac_states_drive_the_cohort_ecgs(cohort):
    "Each patient's cardiac states come from the population, stay the same across their ECGs, and force the parameters that define them."
    from clef_nb.simulate import STATES
    e = cohort.ecgs
    assert set(STATES.index) | {'mi_territory', 'lvef'} <= set(e.columns)
    assert (e.groupby('pid')[list(STATES.index) + ['lvef']].nunique() == 1).all(axis=None)
    assert (e.qrs[e.lbbb > 0] == 155).all() and (e.qrs[(e.rbbb > 0) & (e.lbbb == 0)] == 145).all()
    assert (e.af[e.afib > 0] == 1).all() and (e.pr[(e.avb1 > 0) & (e.avb_high == 0)] == 250).all()
    assert e.lvef.between(10, 80).all()


def test_population_states_follow_clinical_variables():
    "Over a large population: infarcts rise with SCORE2, AF with age, LVH with blood pressure (the documented couplings, not a fit)."
    import numpy as np
    from clef_nb.simulate import population
    p = population(20000, np.random.default_rng(0))
    assert p.mi[p.log2risk > 1].mean() > 2*p.mi[p.log2risk < -1].mean()
    assert p.afib[p.age > 75].mean() > 3*p.afib[p.age < 50].mean()
    assert p.lvh[p.sbp > 150].mean() > 1.5*p.lvh[p.sbp < 120].mean()
    assert p.lvef[p.mi > 0].mean() < p.lvef[p.mi == 0].mean() - 10
