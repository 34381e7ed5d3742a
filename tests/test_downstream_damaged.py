"Damaged downstream tables: every loader's failure is a `DownstreamError` whose message starts with the file at fault."
import shutil
from pathlib import Path
import pandas as pd, pytest
from clef_nb.tasks import DownstreamError, MalformedRowError, UnknownCodeError
from clef_nb.ptbxl import read_ptbxl_index, write_ptbxl_fixture
from clef_nb.chapman import read_chapman_index, write_chapman_fixture
from clef_nb.lvef import read_lvef_index
from clef_nb.mcmed import read_mcmed_index, write_mcmed_fixture
from clef_nb.music import read_music_index, write_music_fixture
from clef_nb.aurora import read_aurora_index, write_aurora_fixture


@pytest.fixture(scope='module')
def fx(tmp_path_factory):
    root = tmp_path_factory.mktemp('fx')
    write_ptbxl_fixture(root/'ptbxl', n=30, seed=1); write_chapman_fixture(root/'chapman', n=20, seed=2)
    write_mcmed_fixture(root/'mcmed', n_patients=12, seed=3); write_music_fixture(root/'music', n=10, seed=4)
    write_aurora_fixture(root/'aurora', n=8, seed=5)
    return root


BINARY = b'\x89PNG\r\n\x1a\n\x00\xff\xfe' * 40                      # a picture saved under a table's name
CUT = lambda b: b[:len(b)//2].rsplit(b'\n', 1)[0] + b'\n"12,unterminated'  # cut short inside a quoted field

CASES = [('ptbxl', 'ptbxl_database.csv', read_ptbxl_index), ('ptbxl', 'scp_statements.csv', read_ptbxl_index),
         ('chapman', 'ConditionNames_SNOMED-CT.csv', read_chapman_index), ('chapman', 'chapman_train.csv', read_chapman_index),
         ('mcmed', 'visits.csv', read_mcmed_index), ('mcmed', 'waveform_summary.csv', read_mcmed_index),
         ('mcmed', 'split_chrono_test.csv', read_mcmed_index), ('music', 'subject-info.csv', read_music_index),
         ('aurora', 'participants.tsv', read_aurora_index), ('aurora', 'features.tsv', read_aurora_index)]


@pytest.mark.parametrize('damage', ['binary', 'cut', 'empty'])
@pytest.mark.parametrize('name,table,read', CASES, ids=[f'{n}/{t}' for n, t, _ in CASES])
def test_damaged_table_names_its_file(fx, tmp_path, name, table, read, damage):
    root = shutil.copytree(fx/name, tmp_path/name); f = root/table
    assert f.is_file(), f'the {name} fixture has no {table}'
    if damage == 'empty' and table.startswith('split_'): pytest.skip('a header-less split file may list no visits')
    f.write_bytes({'binary': BINARY, 'cut': CUT(f.read_bytes()), 'empty': b''}[damage])
    with pytest.raises(DownstreamError) as e: read(root)
    assert str(e.value).startswith(str(f)), str(e.value)


def test_lvef_table_damaged(tmp_path):
    f = tmp_path/'LVEF.csv'; f.write_bytes(BINARY)
    with pytest.raises(MalformedRowError) as e: read_lvef_index(tmp_path)
    assert str(e.value).startswith(str(f))


def test_unknown_codes_name_their_file(fx, tmp_path):
    root = shutil.copytree(fx/'ptbxl', tmp_path/'ptbxl')
    db = pd.read_csv(root/'ptbxl_database.csv'); db.loc[0, 'scp_codes'] = "{'FOO': 100.0}"; db.to_csv(root/'ptbxl_database.csv', index=False)
    with pytest.raises(UnknownCodeError) as e: read_ptbxl_index(root)
    assert str(e.value).startswith(str(root/'ptbxl_database.csv'))
    root = shutil.copytree(fx/'chapman', tmp_path/'chapman')
    h = next(root.rglob('JS*.hea')); h.write_text(h.read_text().replace('#Dx: ', '#Dx: 123,'))
    with pytest.raises(UnknownCodeError) as e: read_chapman_index(root)
    assert str(e.value).startswith(str(h.with_suffix(''))), str(e.value)
