"Hand-damaged cohort files each end as a named error or a counted skip."
import gzip, shutil
from pathlib import Path
import numpy as np, pandas as pd, pytest
from clef_nb.synth import make_cohort
from clef_nb.mimic import (ecg_metadata, read_record_list, read_hosp, patient_split, check_splits,
                           LayoutError, HospTableError, SplitLeakError)

@pytest.fixture(scope='module')
def clean(tmp_path_factory):
    return make_cohort(tmp_path_factory.mktemp('clean')/'ecg', n_patients=15, seed=21)

@pytest.fixture
def cohort(clean, tmp_path):
    "A fresh copy of the clean cohort to damage."
    shutil.copytree(clean.root, tmp_path/'ecg')
    return tmp_path/'ecg'

def _edit(path:Path, fn):
    df = pd.read_csv(path, dtype=str); df = fn(df)
    df.to_csv(path, index=False, compression='gzip' if path.suffix == '.gz' else None)

def test_clean_cohort_skips_nothing(cohort):
    meta, skipped = ecg_metadata(cohort, signal=False)
    assert len(skipped) == 0 and len(meta) == len(read_record_list(cohort))

def test_missing_dat_is_a_counted_skip(cohort):
    rl = read_record_list(cohort)
    (cohort/rl.path[0]).with_suffix('.dat').unlink()
    meta, skipped = ecg_metadata(cohort)
    s = skipped[skipped.table == 'signal']
    assert len(s) == 1 and s.key.iloc[0] == rl.path[0] and s.reason.iloc[0].startswith('SignalFileError')
    assert np.isnan(meta.heart_rate[0]) and meta.heart_rate[1:].notna().all() and len(meta) == len(rl)

def test_malformed_blood_pressure_is_a_counted_skip(cohort):
    omr = cohort/'hosp/omr.csv.gz'
    bp = pd.read_csv(omr, dtype=str).query("result_name == 'Blood Pressure'").index[:2]
    def damage(df): df.loc[bp[0], 'result_value'] = '120/'; df.loc[bp[1], 'result_value'] = 'refused'; return df
    _edit(omr, damage)
    _, skipped = ecg_metadata(cohort, signal=False)
    assert sorted(skipped[skipped.table == 'omr'].reason) == ['unparseable Blood Pressure: 120/', 'unparseable Blood Pressure: refused']

def test_lab_in_wrong_unit_is_a_counted_skip(cohort):
    lab = cohort/'hosp/labevents.csv.gz'
    tc = pd.read_csv(lab, dtype=str).query("itemid == '50907'").index[:3]
    def damage(df):
        df.loc[tc[0], 'valueuom'] = 'g/L'                                    # a unit this module does not know
        df.loc[tc[1], ['valuenum', 'valueuom']] = ['5.4', 'mg/dL']           # a mmol/L value labelled mg/dL
        df.loc[tc[2], ['valuenum', 'valueuom']] = ['5.4', 'mmol/L']          # a correct mmol/L value: kept
        return df
    _edit(lab, damage)
    _, skipped = ecg_metadata(cohort, signal=False)
    assert sorted(skipped[skipped.table == 'labevents'].reason) == ['impossible value for tc', 'unknown unit g/L for tc']

def test_patient_without_hosp_rows_is_counted_and_kept(cohort):
    rl = read_record_list(cohort); sid = str(rl.subject_id[0])
    for t in ('patients', 'omr', 'labevents', 'diagnoses_icd'): _edit(cohort/f'hosp/{t}.csv.gz', lambda df: df[df.subject_id != sid])
    meta, skipped = ecg_metadata(cohort, signal=False)
    mine = meta.subject_id.astype(str) == sid
    s = skipped[skipped.table == 'patients']
    assert set(s.key) == set(meta.record_id[mine]) and (s.reason == f'no patients row for subject {sid}').all()
    assert meta.loc[mine, ['age_at_ecg', 'gender', 'smoking', 'diabetes', 'score2_risk']].isna().all(axis=None)
    assert (meta.rate_meta[mine] == 0).all() and meta.score2_reason[mine].str.contains('age missing').all()

def test_missing_table_and_root_are_named_errors(cohort, tmp_path):
    (cohort/'hosp/labevents.csv.gz').unlink()
    with pytest.raises(HospTableError, match='labevents.csv.gz: not found'): ecg_metadata(cohort, signal=False)
    _edit(cohort/'hosp/omr.csv.gz', lambda df: df.drop(columns='result_value'))
    with pytest.raises(HospTableError, match=r"missing columns \['result_value'\]"): read_hosp(cohort/'hosp', 'omr')
    with pytest.raises(LayoutError, match='record_list.csv: not found'): read_record_list(tmp_path)

def test_uncompressed_tables_read_the_same(cohort):
    a, _ = ecg_metadata(cohort, signal=False)
    for f in (cohort/'hosp').glob('*.csv.gz'):
        with gzip.open(f) as src, open(f.with_suffix(''), 'wb') as dst: dst.write(src.read())
        f.unlink()
    b, _ = ecg_metadata(cohort, signal=False)
    pd.testing.assert_frame_equal(a, b)

def test_splits_never_share_a_patient(clean):
    rl = read_record_list(clean.root)
    for seed in range(5):
        s = patient_split(rl.patient_id, seed=seed)
        check_splits(rl.patient_id, s)
        assert set(s) <= {'train', 'val', 'test'}
    s = patient_split(rl.patient_id, seed=0).copy()
    multi = rl.patient_id[rl.patient_id.duplicated(keep=False)].index
    s[multi[0]] = 'test' if s[multi[0]] != 'test' else 'train'
    with pytest.raises(SplitLeakError, match='in more than one split'): check_splits(rl.patient_id, s)

def test_unparseable_lab_value_is_a_counted_skip(cohort):
    lab = cohort/'hosp/labevents.csv.gz'
    hdl = pd.read_csv(lab, dtype=str).query("itemid == '50904'").index[:1]
    def damage(df): df.loc[hdl[0], ['value', 'valuenum']] = ['see comment', '']; return df
    _edit(lab, damage)
    meta, skipped = ecg_metadata(cohort, signal=False)
    assert list(skipped[skipped.table == 'labevents'].reason) == ['no value for hdl']
    assert meta.score2_risk[meta.age_at_ecg.between(40, 89)].notna().all()   # the lost value is filled, not a NaN risk

def test_patient_with_no_measurements_gets_a_low_confidence_risk(cohort):
    from clef_nb.mimic import score2_coverage, FILL_INPUTS
    rl = read_record_list(cohort)
    pts = pd.read_csv(cohort/'hosp/patients.csv.gz')
    sid = pts.subject_id[pts.anchor_age.between(45, 80)].iloc[0]
    for t in ('omr', 'labevents', 'diagnoses_icd'): _edit(cohort/f'hosp/{t}.csv.gz', lambda df: df[df.subject_id != str(sid)])
    meta, skipped = ecg_metadata(cohort, signal=False)
    mine = meta.subject_id == sid
    assert len(skipped) == 0 and mine.any()
    assert meta.score2_risk[mine].notna().all() and (meta.rate_meta[mine] == 2/7).all()
    assert (meta.loc[mine, [f'{c}_source' for c in FILL_INPUTS]] == 'median').all(axis=None)
    assert score2_coverage(meta).loc['all', 'nothing_observed'] >= mine.sum()
    strict, _ = ecg_metadata(cohort, signal=False, impute='none')
    assert strict.score2_risk[mine].isna().all() and strict.score2_reason[mine].str.contains('sbp missing').all()

def test_ages_outside_score2_get_nan_with_reason(cohort):
    _edit(cohort/'hosp/patients.csv.gz', lambda df: df.assign(anchor_age=np.where(np.arange(len(df)) % 2, '30', '95')))
    meta, _ = ecg_metadata(cohort, signal=False)
    out = ~meta.age_at_ecg.between(40, 89.999)
    assert out.any() and meta.score2_risk[out].isna().all() and meta.score2_reason[out].str.contains('age outside').all()

def test_fill_medians_use_training_patients_only(cohort):
    rl = read_record_list(cohort)
    train = rl.patient_id.unique()[:8]; other = rl.subject_id[~rl.patient_id.isin(train)].iloc[0]
    a, _ = ecg_metadata(cohort, signal=False, train_ids=train)
    omr = cohort/'hosp/omr.csv.gz'
    _edit(omr, lambda df: df.assign(result_value=np.where((df.subject_id == str(other)) & (df.result_name == 'Blood Pressure'), '250/100', df.result_value)))
    b, _ = ecg_metadata(cohort, signal=False, train_ids=train)
    med = a.sbp_source == 'median'
    assert med.any() and np.allclose(a.sbp[med], b.sbp[med])
    with pytest.raises(ValueError, match='impute must be one of'): ecg_metadata(cohort, signal=False, impute='zero')
