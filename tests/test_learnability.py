"""Learnability at the evaluation scale: the floor / ceiling / SCORE2-only table, read from what `learnability` returns.

Writing, caching, embedding and probing all seven eval fixtures takes far longer than a test should, so this writes
three of them and probes one task of each kind: multilabel (PTB-XL superclasses), multiclass (MUSIC outcome) and
regression (Aurora-BP systolic and diastolic pressure)."""
import dataclasses
import numpy as np
import pandas as pd
import pytest
from clef_nb.tasks import get_task
from clef_nb.probe import task_data
from clef_nb.synth import make_cohort
from clef_nb.learnability import eval_data, learnability, task_truth, cohort_explained, TruthError

DATASETS = ('ptbxl', 'music', 'aurora_bp')
TASKS = ['ptbxl_super', 'music_outcome', 'aurora_sbp', 'aurora_dbp']


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    return eval_data(tmp_path_factory.mktemp('learnability'), seed=0, datasets=DATASETS, scale='eval', workers=2)


@pytest.fixture(scope='module')
def table(data):
    return learnability(data, tasks=TASKS)


def test_one_row_per_task_asked(data, table):
    assert list(table.index) == TASKS
    assert {get_task(t).kind for t in TASKS} == {'multilabel', 'multiclass', 'regression'}
    assert set(data.caches) == {'ptbxl_diag', 'ptbxl_subdiag', 'ptbxl_super', 'ptbxl_form', 'ptbxl_rhythm', 'music_outcome', 'aurora_sbp', 'aurora_dbp'}


def test_every_task_is_scored_and_intervals_contain_their_values(table):
    for p, v in (('floor', 'floor'), ('ceiling', 'ceiling'), ('risk', 'risk_only')):
        assert table[v].notna().all(), f'{p}: unscored tasks {list(table.index[table[v].isna()])}'
        assert ((table[f'{p}_lo'] <= table[v]) & (table[v] <= table[f'{p}_hi'])).all(), table[[f'{p}_lo', v, f'{p}_hi']]
    assert (table.note == '').all()


def test_passes_follow_the_rule_and_the_count_is_the_rows_passing(table):
    auroc = table.metric == 'auroc'
    rule = np.where(auroc, table.ceiling - table.floor >= 0.05, table.ceiling <= 0.9*table.floor)
    assert (table.passes.to_numpy() == rule).all()
    assert table.attrs['n_pass'] == int(table.passes.sum())
    assert table.attrs['n_tasks'] == len(table)
    assert table.risk_metric.tolist() == ['r2' if get_task(t).kind == 'regression' else 'auroc' for t in table.index]


def test_sizes_are_the_task_splits(data, table):
    for name, row in table.iterrows():
        td = task_data(name, data.caches[name])
        assert row.n_test == (td.split == 'test').sum() and row.n_train == (td.split == 'train').sum()
        assert 0 < row.test_patients <= row.n_test
        assert 0 < row.risk_n_test <= row.n_test   # only patients aged 40-89 have a SCORE2


def test_truth_is_paired_with_the_right_records(data):
    for name in ('ptbxl_super', 'music_outcome'):   # the age the loader read back is the simulated patient's
        td = task_data(name, data.caches[name])
        tt = task_truth(data, name, td)
        assert len(tt) == len(td.y)
        young = td.meta.age.to_numpy(float) < 89                                     # PTB-XL writes every age above 89 as 90 (its real convention)
        assert np.abs(tt.age.to_numpy(float) - td.meta.age.to_numpy(float))[young].max() <= 1
    td = task_data('aurora_sbp', data.caches['aurora_sbp'])
    assert np.corrcoef(task_truth(data, 'aurora_sbp', td).sbp, td.y)[0, 1] > 0.8   # baseline SBP = the participant's SBP + cuff noise


def test_a_record_without_truth_is_a_named_error(data):
    c = data.caches['music_outcome']; used = c.index.set_index('cache_row').loc[task_data('music_outcome', c).rows].record_id.astype(str)
    m = data.truth['music']
    short = dataclasses.replace(data, truth={**data.truth, 'music': m[m.record_id.astype(str) != used.iloc[0]]})   # a record the task uses loses its truth
    with pytest.raises(TruthError, match='music_outcome'): task_truth(short, 'music_outcome')
    with pytest.raises(KeyError, match='mcmed_sbp'): learnability(data, tasks=['mcmed_sbp'])


def test_unknown_dataset_is_refused(tmp_path):
    with pytest.raises(KeyError, match='ptb'): eval_data(tmp_path, datasets=('ptb',))


def test_cohort_explained(tmp_path):
    ce = cohort_explained(make_cohort(tmp_path/'mimic-iv-ecg', n_patients=150, seed=1))
    assert list(ce.index) == ['SCORE2', 'log SCORE2', 'age']
    assert ((ce.r2_lo <= ce.r2) & (ce.r2 <= ce.r2_hi) & (ce.mae_lo <= ce.mae) & (ce.mae <= ce.mae_hi)).all()
    assert (ce.r2 < 1).all() and (ce.test_patients > 0).all()
