"The results store: one row per configuration, atomic writes, concurrent writers, typed round trip (clef_nb.results)."
import multiprocessing as mp
import numpy as np, pandas as pd, pytest
from clef_nb.results import KEY, COLUMNS, append_results, load_results, results_frame, summarise

ROW = dict(model='clef-small', size='small', method='clef', variant='paper', checkpoint_hash='ab12cd34', dataset='synthetic',
           data_hash='ef56', synthetic=True, task='synth_af', lead='II', protocol='probe', label_fraction=1.0, seed=0,
           metric='auroc', value=0.9, ci_low=0.8, ci_high=0.95, n_test_patients=40, n_test_ecgs=100, n_boot=1000)


def test_identical_configuration_replaces(tmp_path):
    f = tmp_path/'r'/'results.csv'
    append_results([ROW, {**ROW, 'metric': 'auprc', 'value': 0.5}], f)
    append_results([{**ROW, 'value': 0.7}], f)
    df = load_results(f)
    assert len(df) == 2 and df.set_index('metric').value.to_dict() == {'auroc': 0.7, 'auprc': 0.5}
    for col, other in [('seed', 1), ('label_fraction', 0.1), ('protocol', 'finetune'), ('checkpoint_hash', 'ffff'),
                       ('subgroup', 'sex=F'), ('synthetic', False), ('lead', 'I'), ('data_hash', 'x')]:
        append_results([{**ROW, col: other}], f)
    assert len(load_results(f)) == 10                      # each differing key column adds a row


def test_round_trip_types_and_no_temp_files(tmp_path):
    f = tmp_path/'results.csv'
    out = append_results([{**ROW, 'ci_low': np.nan, 'ci_high': np.nan, 'checkpoint_hash': None}], f)
    back = load_results(f)
    pd.testing.assert_frame_equal(back, out)
    assert back.synthetic.dtype == bool and back.seed.dtype.kind == 'i' and np.isnan(back.ci_low[0])
    assert back.checkpoint_hash[0] == ''
    assert sorted(p.name for p in tmp_path.iterdir()) == ['results.csv', 'results.csv.lock']
    # the same row again (read back from CSV) compares equal on its key: replaced, not added
    append_results(back, f); assert len(load_results(f)) == 1


def test_missing_store_is_empty_with_columns(tmp_path):
    df = load_results(tmp_path/'none.csv')
    assert len(df) == 0 and list(df.columns) == list(COLUMNS)


def test_bad_rows_are_refused():
    with pytest.raises(ValueError, match='lack columns: metric'): results_frame([{k: v for k, v in ROW.items() if k != 'metric'}])
    with pytest.raises(ValueError, match='unknown columns: auc'): results_frame([{**ROW, 'auc': 1}])
    with pytest.raises(ValueError, match='empty key columns: task'): results_frame([{**ROW, 'task': None}])
    with pytest.raises(ValueError, match='repeat the key'): results_frame([ROW, {**ROW, 'value': 0.1}])


def _writer(args):
    path, w = args
    for s in range(5): append_results([{**ROW, 'model': f'm{w}', 'seed': s}], path)


def test_concurrent_writers_lose_nothing(tmp_path):
    f = str(tmp_path/'results.csv')
    with mp.get_context('fork').Pool(4) as pool: pool.map(_writer, [(f, w) for w in range(4)])
    df = load_results(f)
    assert len(df) == 20 and not df.duplicated(list(KEY)).any()


def test_summarise_over_seeds():
    df = results_frame([{**ROW, 'seed': s, 'value': v} for s, v in enumerate([0.8, 0.82, 0.84])])
    s = summarise(df)
    assert len(s) == 1 and s.n_seeds[0] == 3
    assert s['mean'][0] == pytest.approx(0.82) and s['std'][0] == pytest.approx(0.02)
