"The downstream task registry: the 18 tasks, `targets` on every label kind, and its errors naming the bad row."
import numpy as np, pandas as pd, pytest
from clef_nb.tasks import TASKS, get_task, targets, labelled, check_disjoint, shared_patients, drop_shared, LeakError, class_counts, check_classes, MissingClassError


def test_registry_shape():
    assert len(TASKS) == 18 and sum(t.metric == 'auroc' for t in TASKS.values()) == 13
    for t in TASKS.values():
        assert t.kind in ('multilabel', 'multiclass', 'binary', 'regression')
        assert (t.metric == 'mae') == (t.kind == 'regression') and bool(t.units) == (t.kind == 'regression')
        assert len(set(t.classes)) == len(t.classes) and t.leads


@pytest.mark.parametrize('name', list(TASKS))
def test_targets_roundtrip(name):
    "Every task's targets come back with the contract's shape and dtype from a CSV round trip (empty cells read as NaN)."
    t = get_task(name); c = t.classes or ('x',)
    col = {'multilabel': [';'.join(c[:2]), '', c[-1]], 'multiclass': [c[0], c[-1], c[0]],
           'binary': [0, 1, 1], 'regression': [1.5, np.nan, 3.0]}[t.kind]
    ix = pd.DataFrame({'record_id': ['a', 'b', 'c'], t.target: col})
    import io; ix = pd.read_csv(io.StringIO(ix.to_csv(index=False)))
    y = targets(t, ix)
    want = {'multilabel': ((3, len(t.classes)), np.float32), 'multiclass': ((3,), np.int64), 'binary': ((3,), np.float32), 'regression': ((3,), np.float32)}[t.kind]
    assert (y.shape, y.dtype) == want
    if t.kind == 'multilabel': assert y[1].sum() == 0 and y[0, :2].sum() == 2 and not labelled(t, ix)[1]


def test_unknown_class_names_row():
    ix = pd.DataFrame(dict(record_id=['r0', 'r1'], ed_dispo=['ICU', 'Home']))
    with pytest.raises(ValueError, match=r"row 1 \(record r1\) has label 'Home'"): targets('mcmed_ed_dispo', ix)
    with pytest.raises(KeyError, match='known tasks'): get_task('nope')


def test_leakage_audit():
    down = pd.DataFrame(dict(patient_id=['1', '2', '3'], split=['train', 'val', 'test']))
    assert check_disjoint(down) == dict(test=1, train=1, val=1)
    with pytest.raises(LeakError): check_disjoint(down.assign(patient_id=['1', '1', '3']))
    pre = pd.DataFrame(dict(patient_id=[2, 3]))
    assert shared_patients(pre, down).shared_patients.sum() == 2
    assert drop_shared(pre, down).patient_id.tolist() == ['1']


@pytest.mark.parametrize('name', [n for n, t in TASKS.items() if t.kind != 'regression'])
def test_class_presence_per_split(name):
    "Every class of every classification task is counted per split; a class missing from train or test is named."
    t = get_task(name)
    col = {'multilabel': list(t.classes), 'multiclass': list(t.classes), 'binary': [0, 1]}[t.kind]
    ix = pd.DataFrame({'split': ['train']*len(col) + ['test']*len(col), t.target: col + col})
    c = check_classes(t, ix)
    assert c.shape == (max(len(t.classes), 2), 2) and (c >= 1).all(axis=None)
    with pytest.raises(MissingClassError, match=f"task {name}: 1 class") as e: check_classes(t, ix.iloc[:-1])
    assert '(test)' in str(e.value)
    assert class_counts(t, ix.assign(split='val')).columns.tolist() == ['val']
