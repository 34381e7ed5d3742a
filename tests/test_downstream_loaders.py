"Downstream loaders: the real CinC Chapman records, patient-disjoint splits on every fixture, and the bad-input battery (named errors or counted skips)."
import shutil
from pathlib import Path
import numpy as np, pandas as pd, pytest
from clef_nb.tasks import targets, check_disjoint, UnknownCodeError, MissingFileError, MalformedRowError
from clef_nb.chapman import read_chapman_index, build_chapman, write_chapman_fixture
from clef_nb.ptbxl import read_ptbxl_index, write_ptbxl_fixture
from clef_nb.mcmed import read_mcmed_index, write_mcmed_fixture
from clef_nb.music import read_music_index, write_music_fixture
from clef_nb.aurora import read_aurora_index, write_aurora_fixture
from clef_nb.icentia import read_icentia_index, write_icentia_fixture
from clef_nb.io import read_ecg
from clef_nb.fixtures import write_wfdb


def test_real_chapman_records(data, tmp_path):
    "JS20000-JS20019: every Dx code is known, mapped to task labels, and the records cache."
    ix, sk = read_chapman_index(data/'cinc2021', split_dir=None, conditions='builtin')
    assert len(ix) == 20 and len(sk) == 0
    r = ix.set_index('record_id')
    assert r.loc['JS20000', 'labels'] == 'APB;ST' and r.loc['JS20000', 'dx'] == '284470004;427084000;698252002;55930002'
    assert (ix.labels != '').all() and targets('chapman', ix).sum() >= 20
    c, _ = build_chapman(data/'cinc2021', tmp_path/'c', leads='II', split_dir=None, conditions='builtin')
    assert c.index.ok.all() and c.signals.shape == (20, 1, 5000)


@pytest.fixture(scope='module')
def fx(tmp_path_factory):
    root = tmp_path_factory.mktemp('fx')
    write_ptbxl_fixture(root/'ptbxl', n=60, seed=1); write_chapman_fixture(root/'chapman', n=40, seed=2)
    write_mcmed_fixture(root/'mcmed', n_patients=30, seed=3); write_music_fixture(root/'music', n=20, seed=4)
    write_aurora_fixture(root/'aurora', n=20, seed=5); write_icentia_fixture(root/'icentia', n_patients=6, seed=6)
    return root


def test_splits_patient_disjoint(fx):
    for ix, _ in (read_ptbxl_index(fx/'ptbxl'), read_chapman_index(fx/'chapman'), read_mcmed_index(fx/'mcmed'), read_music_index(fx/'music'),
                  read_aurora_index(fx/'aurora'), read_icentia_index(fx/'icentia', 'beat'), read_icentia_index(fx/'icentia', 'rhythm')):
        assert set(ix.split) <= {'train', 'val', 'test'}
        check_disjoint(ix)


def _copy(fx, name, tmp_path):
    shutil.copytree(fx/name, tmp_path/name); return tmp_path/name


def test_missing_label_files(fx, tmp_path):
    for name, f, read in (('ptbxl', 'ptbxl_database.csv', read_ptbxl_index), ('mcmed', 'visits.csv', read_mcmed_index),
                          ('music', 'subject-info.csv', read_music_index), ('aurora', 'participants.tsv', read_aurora_index),
                          ('chapman', 'ConditionNames_SNOMED-CT.csv', read_chapman_index)):
        root = _copy(fx, name, tmp_path); (root/f).unlink()
        with pytest.raises(MissingFileError, match=f): read(root)


def test_unknown_codes(fx, tmp_path):
    root = _copy(fx, 'chapman', tmp_path)
    h = next(root.rglob('JS*.hea')); h.write_text(h.read_text().replace('#Dx: ', '#Dx: 123,'))
    with pytest.raises(UnknownCodeError, match=f"{h.stem}: SNOMED code"): read_chapman_index(root)
    assert read_chapman_index(root, on_unknown='skip')[1].record.tolist() == [h.stem]
    root = _copy(fx, 'ptbxl', tmp_path)
    db = pd.read_csv(root/'ptbxl_database.csv'); db.loc[0, 'scp_codes'] = "{'FOO': 100.0}"; db.to_csv(root/'ptbxl_database.csv', index=False)
    with pytest.raises(UnknownCodeError, match="ecg_id 1: SCP code"): read_ptbxl_index(root)


def test_listed_but_absent(fx, tmp_path):
    root = _copy(fx, 'chapman', tmp_path)
    victim = pd.read_csv(root/'chapman_train.csv').ecg_path[0].removeprefix('/chapman/').removesuffix('.mat')
    for f in (root/victim).parent.glob(Path(victim).name + '.*'): f.unlink()
    ix, sk = read_chapman_index(root)
    assert len(sk) == 1 and Path(victim).name in sk.reason[0] and Path(victim).name not in set(ix.record_id)


def test_malformed_music_row(fx, tmp_path):
    root = _copy(fx, 'music', tmp_path)
    lines = (root/'subject-info.csv').read_text().splitlines()
    lines[2] = 'P9999;not;enough'
    (root/'subject-info.csv').write_text('\n'.join(lines) + '\n')
    with pytest.raises(MalformedRowError, match='P9999'): read_music_index(root)
    ix, sk = read_music_index(root, on_bad='skip')
    assert 'P9999' not in set(ix.record_id)


def test_aurora_without_bp_and_short_window(fx, tmp_path):
    root = _copy(fx, 'aurora', tmp_path)
    ix, sk = read_aurora_index(root)
    assert 'a003' in set(sk.record) and 'a003' not in set(ix.record_id)
    f = root/ix.path[0]; pd.read_csv(f, sep='\t').iloc[:2000].to_csv(f, sep='\t', index=False)
    ix2, sk2 = read_aurora_index(root, min_seconds=10)
    assert ix.record_id[0] in set(sk2.record) and len(ix2) == len(ix) - 1


def test_icentia_short_segment(fx, tmp_path):
    root = _copy(fx, 'icentia', tmp_path)
    seg = root/'p00/p00000/p00000_s00'
    e = read_ecg(seg); write_wfdb(seg, e.signal[:, :2000], 250, ['ecg'], gain=74.36)
    ix, sk = read_icentia_index(root, 'rhythm')
    assert sk.reason.str.contains('does not fit').any()
    assert all((ix.start_s*250 + 2500 <= 2000) | ~ix.path.str.endswith('p00000_s00'))
