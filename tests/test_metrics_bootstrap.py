"Patient-grouped bootstrap, vectorised metrics against scikit-learn, paired comparisons (clef_nb.metrics)."
import time
import numpy as np, pytest
from hypothesis import given, settings, strategies as st
from sklearn.metrics import roc_auc_score, average_precision_score
from clef_nb.metrics import auroc, auprc, task_metric, bootstrap_ci, patient_weights, paired_bootstrap, calibration_bins, ece


def _cohort(n_patients, per_patient, seed=0, ecg_noise=0.05):
    "Scores where each patient's ECGs share a patient-level score and label (repeated ECGs are near copies)."
    rng = np.random.default_rng(seed)
    pid = np.repeat(np.arange(n_patients), per_patient)
    y_p = rng.random(n_patients) < 0.4
    s_p = y_p + rng.normal(0, 1, n_patients)
    return y_p[pid], s_p[pid] + rng.normal(0, ecg_noise, len(pid)), pid


def _width(r): return r['hi'] - r['lo']


def test_patient_bootstrap_wider_than_ecg_bootstrap_with_repeated_ecgs():
    y, s, pid = _cohort(80, 6)
    by_patient = bootstrap_ci(y, s, 'binary', 'auroc', pid, n_boot=1000, seed=1)
    by_ecg = bootstrap_ci(y, s, 'binary', 'auroc', None, n_boot=1000, seed=1)
    assert by_patient['value'] == by_ecg['value']
    assert by_patient['n_patients'] == 80 and by_ecg['n_patients'] == 480
    assert _width(by_patient) > 1.8 * _width(by_ecg)          # ~sqrt(6) ≈ 2.4 expected for near-copies


def test_bootstraps_agree_with_one_ecg_per_patient():
    y, s, pid = _cohort(400, 1)
    a = bootstrap_ci(y, s, 'binary', 'auroc', pid, n_boot=1000, seed=2)
    b = bootstrap_ci(y, s, 'binary', 'auroc', None, n_boot=1000, seed=2)
    assert 0.8 < _width(a) / _width(b) < 1.25


def test_patient_bootstrap_mae_wider_too():
    rng = np.random.default_rng(3)
    pid = np.repeat(np.arange(50), 5)
    err = np.repeat(rng.normal(0, 5, 50), 5) + rng.normal(0, 0.2, 250)
    a = bootstrap_ci(np.zeros(250), err, 'regression', 'mae', pid)
    b = bootstrap_ci(np.zeros(250), err, 'regression', 'mae')
    assert _width(a) > 1.8 * _width(b)


def test_weighted_replicates_equal_sklearn_on_repeated_rows():
    rng = np.random.default_rng(4)
    y, s = rng.random(200) < 0.3, np.round(rng.normal(size=200), 1)
    pid = rng.integers(0, 70, 200)
    W = patient_weights(pid, n_boot=25, seed=5)
    a, p = auroc(y, s, W), auprc(y, s, W)
    for b in range(25):
        k = W[b].astype(int)
        yy, ss = np.repeat(y, k), np.repeat(s, k)
        if yy.all() or not yy.any(): assert np.isnan(a[b]); continue
        assert a[b] == pytest.approx(roc_auc_score(yy, ss), abs=1e-12)
        assert p[b] == pytest.approx(average_precision_score(yy, ss), abs=1e-12)


def test_patient_weights_move_a_patients_ecgs_together():
    pid = np.array(['a', 'b', 'a', 'c', 'b', 'a'])
    W = patient_weights(pid, n_boot=50, seed=0)
    assert (W[:, 0] == W[:, 2]).all() and (W[:, 0] == W[:, 5]).all() and (W[:, 1] == W[:, 4]).all()
    assert (W[:, [0, 1, 3]].sum(1) == 3).all()


def test_bootstrap_speed_1000_by_1000():
    rng = np.random.default_rng(6)
    y, s, pid = rng.random(1000) < 0.3, rng.normal(size=1000), rng.integers(0, 300, 1000)
    bootstrap_ci(y, s, 'binary', 'auroc', pid, n_boot=50)   # warm-up
    t0 = time.perf_counter(); bootstrap_ci(y, s, 'binary', 'auroc', pid, n_boot=1000); dt = time.perf_counter() - t0
    assert dt < 1.5, f'{dt:.2f} s for 1000 replicates of 1000 ECGs'


def test_multilabel_macro_skips_absent_labels_and_multiclass_matches_sklearn():
    rng = np.random.default_rng(7)
    Y = rng.random((300, 5)) < 0.3; Y[:, 4] = False; S = rng.random((300, 5))
    assert task_metric(Y, S, 'multilabel')[0] == pytest.approx(roc_auc_score(Y[:, :4], S[:, :4], average='macro'))
    yc, P = rng.integers(0, 4, 300), rng.dirichlet(np.ones(4), 300)
    assert task_metric(yc, P, 'multiclass')[0] == pytest.approx(roc_auc_score(yc, P, multi_class='ovr'))
    r = bootstrap_ci(yc, P, 'multiclass', 'auroc', rng.integers(0, 100, 300), n_boot=200)
    assert r['n_boot'] == 200 and r['lo'] < r['value'] < r['hi']


def test_paired_bootstrap():
    y, s, pid = _cohort(80, 4, seed=8)
    same = paired_bootstrap(y, s, s, 'binary', 'auroc', pid)
    assert same['diff'] == 0 and same['lo'] == 0 and same['hi'] == 0 and same['p'] == 1
    better = s + y * 0.8
    d = paired_bootstrap(y, better, s, 'binary', 'auroc', pid)
    assert d['diff'] > 0 and d['lo'] > 0 and d['p'] < 0.05
    # the paired interval of the difference is narrower than the two separate intervals' spread suggests
    a, b = bootstrap_ci(y, better, 'binary', 'auroc', pid), bootstrap_ci(y, s, 'binary', 'auroc', pid)
    assert d['hi'] - d['lo'] < (a['hi'] - a['lo']) + (b['hi'] - b['lo'])


def test_ece_of_calibrated_and_overconfident_probabilities():
    rng = np.random.default_rng(9)
    p = rng.random(50000); y = rng.random(50000) < p
    assert ece(calibration_bins(y, p, 'binary')) < 0.01
    over = np.clip(0.5 + (p - 0.5) * 2, 0, 1)
    assert ece(calibration_bins(y, over, 'binary')) > 0.1


def test_bad_scores_are_named():
    with pytest.raises(ValueError, match='score has 2 non-finite values'):
        auroc(np.r_[0, 1, 1], np.r_[np.nan, np.inf, 0.])
    with pytest.raises(ValueError, match='no class has both positives and negatives'):
        task_metric(np.ones(5), np.arange(5.), 'binary')


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(-5, 5)), min_size=2, max_size=60))
def test_auroc_properties(pairs):
    y = np.array([p[0] for p in pairs]); s = np.array([p[1] for p in pairs], float)
    a = auroc(y, s)[0]
    if y.all() or not y.any(): assert np.isnan(a); return
    assert a == pytest.approx(roc_auc_score(y, s))
    assert a + auroc(y, -s)[0] == pytest.approx(1.)             # reversing the ranking
    assert auroc(y, np.exp(s))[0] == pytest.approx(a)           # only ranks matter
