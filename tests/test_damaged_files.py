"Damaged files of every kind the project reads (checkpoints, results stores, caches) raise the project's own exceptions, whose message starts with the path of the file at fault; a refused or failed write leaves the store byte-identical."
import json, shutil
from pathlib import Path
import numpy as np, pandas as pd, pytest, torch
from safetensors.torch import save_file
from clef_nb.encoder import net1d, save_checkpoint, load_clef_checkpoint, CheckpointError
from clef_nb.results import append_results, load_results, ResultsStoreError, COLUMNS
from clef_nb.cache import build_cache, open_cache, CacheError, CacheNotFound

ROW = dict(model='clef-small', size='small', method='clef', variant='paper', checkpoint_hash='ab12', dataset='synthetic',
           data_hash='cd34', synthetic=True, task='af', lead='I', protocol='probe', label_fraction=1.0, seed=0,
           metric='auroc', value=0.9, ci_low=0.85, ci_high=0.95, n_test_patients=40, n_test_ecgs=100, n_boot=1000)


def _names(err, path):
    "The error's message starts with `path`."
    assert str(err).startswith(str(path)), f'{err!s} does not start with {path}'


# ---------------------------------------------------------------- checkpoints
@pytest.fixture(scope='module')
def ckpt(tmp_path_factory):
    d = tmp_path_factory.mktemp('ckpt')
    return save_checkpoint(net1d('small'), d/'enc.safetensors', {'method': 'clef'})


def _lightning(path, sd): torch.save({'epoch': 1, 'state_dict': sd}, path); return path


class _Evil:
    def __reduce__(self): return (print, ('never run',))


CKPT_DAMAGE = {
    'safetensors cut in the weights': (lambda p, good: p.write_bytes(good.read_bytes()[:200_000]), 'not a readable safetensors file, truncated or damaged?'),
    'safetensors cut in the header': (lambda p, good: p.write_bytes(good.read_bytes()[:3_000]), 'a truncated safetensors file'),
    'safetensors header garbled': (lambda p, good: p.write_bytes(good.read_bytes()[:9] + b'#' * 40 + good.read_bytes()[49:]), 'not a readable safetensors file'),
    'empty file': (lambda p, good: p.write_bytes(b''), 'neither a safetensors file nor a readable PyTorch checkpoint'),
    'random bytes': (lambda p, good: p.write_bytes(np.random.default_rng(0).bytes(5000)), 'neither a safetensors file nor a readable PyTorch checkpoint'),
    'pickle refused by weights_only': (lambda p, good: torch.save({'state_dict': {'backbone.x': torch.zeros(1)}, 'obj': _Evil()}, p), 'not loadable with weights_only=True'),
    'torch file cut short': (lambda p, good: (_lightning(p, {'backbone.first_conv.conv.weight': torch.zeros(32, 1, 16)}), p.write_bytes(p.read_bytes()[:300])), 'neither a safetensors file nor a readable PyTorch checkpoint'),
    'a ResNet': (lambda p, good: _lightning(p, {'conv1.weight': torch.zeros(64, 3, 7, 7), 'layer1.0.conv1.weight': torch.zeros(64, 64, 3, 3), 'fc.weight': torch.zeros(10, 512)}), 'it looks like a ResNet'),
    'a transformer': (lambda p, good: _lightning(p, {'blocks.0.attn.qkv.weight': torch.zeros(96, 32), 'head.weight': torch.zeros(2, 32)}), 'it looks like a transformer'),
    'saved inside DDP': (lambda p, good: _lightning(p, {'module.first_conv.conv.weight': torch.zeros(32, 1, 16)}), "keys start with 'module.'"),
    'card not JSON': (lambda p, good: save_file({'w': torch.zeros(1)}, str(p), metadata={'card': '{"encoder": '}), 'the model card in the header is not valid JSON'),
    'card with a bad encoder': (lambda p, good: save_file({'w': torch.zeros(1)}, str(p), metadata={'card': '{"encoder": {"width": 3}}'}), "the model card's encoder configuration is invalid"),
    'card without encoder': (lambda p, good: save_file({'w': torch.zeros(1)}, str(p), metadata={'card': '{}'}), 'the model card has no encoder configuration'),
    'a 12-lead encoder': (lambda p, good: _lightning(p, {'backbone.' + k: v for k, v in net1d('small', in_channels=12).state_dict().items()}), 'wrong shapes: first_conv.conv.weight'),
}


@pytest.mark.parametrize('case', list(CKPT_DAMAGE))
def test_damaged_checkpoint_names_its_file(tmp_path, ckpt, case):
    damage, message = CKPT_DAMAGE[case]
    p = tmp_path/'model.ckpt'
    damage(p, ckpt)
    with pytest.raises(CheckpointError) as ei: load_clef_checkpoint(p, net1d('small') if case == 'a 12-lead encoder' else None)
    _names(ei.value, p); assert message in str(ei.value)


def test_other_architecture_says_which_keys_and_what_it_looks_like(tmp_path):
    p = save_checkpoint(net1d('medium'), tmp_path/'medium.safetensors', {})
    with pytest.raises(CheckpointError) as ei: load_clef_checkpoint(p, net1d('small'))
    _names(ei.value, p)
    assert 'unexpected keys: stage_list.' in str(ei.value) and 'first_conv.conv.weight (64, 1, 16)≠(32, 1, 16)' in str(ei.value) and 'a Net1D with a 64-filter stem, 7 stages and 1 input channel(s) (medium)' in str(ei.value)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match='no such file') as ei: load_clef_checkpoint(tmp_path/'nowhere.safetensors')
    _names(ei.value, tmp_path/'nowhere.safetensors')


# ---------------------------------------------------------------- results store
@pytest.fixture
def store(tmp_path):
    p = tmp_path/'results.csv'
    append_results([ROW, {**ROW, 'seed': 1, 'value': 0.91}, {**ROW, 'seed': 2, 'value': 0.92}], p)
    return p


def _edit(p, old, new, count=1): p.write_text(p.read_text().replace(old, new, count))


STORE_DAMAGE = {
    'cut in the last line': (lambda p: p.write_bytes(p.read_bytes()[:-45]), 'line 4 (row 2) has'),
    'value edited to text': (lambda p: _edit(p, ',0.91,', ',n/a,'), "line 3 (row 1), column 'value': 'n/a' is not a number"),
    'seed edited to a fraction': (lambda p: _edit(p, ',probe,1.0,2,', ',probe,1.0,2.5,'), "line 4 (row 2), column 'seed': '2.5' is not an integer"),
    'synthetic edited to yes': (lambda p: _edit(p, ',True,', ',yes,'), "line 2 (row 0), column 'synthetic': 'yes' is not True or False"),
    'key emptied': (lambda p: _edit(p, ',auroc,', ',,'), "line 2 (row 0), column 'metric': '' is empty"),
    'foreign CSV': (lambda p: pd.DataFrame(dict(patient_id=[1, 2], age=[50, 61])).to_csv(p, index=False), 'not a clef_nb results store: line 1 lacks the columns model'),
    'empty file': (lambda p: p.write_text(''), 'empty file, not a results store'),
    'extra column': (lambda p: p.write_text('\n'.join(l + ',x' for l in p.read_text().splitlines()) + '\n'), 'line 1 has unknown columns'),
    'row with an extra field': (lambda p: _edit(p, ',0.92,', ',0.92,0,'), f'line 4 (row 2) has {len(COLUMNS) + 1} of {len(COLUMNS)} fields'),
    'a line pasted twice': (lambda p: p.write_text(p.read_text() + p.read_text().splitlines()[1] + '\n'), 'lines 2, 5 repeat one key'),
    'binary garbage': (lambda p: p.write_bytes(b'\xff\xfe\x00' + np.random.default_rng(1).bytes(300)), 'cannot be read as CSV'),
}


@pytest.mark.parametrize('case', list(STORE_DAMAGE))
def test_damaged_store_names_file_row_and_column(store, case):
    damage, message = STORE_DAMAGE[case]
    damage(store)
    before = store.read_bytes()
    with pytest.raises(ResultsStoreError) as ei: load_results(store)
    _names(ei.value, store); assert message in str(ei.value), str(ei.value)
    with pytest.raises(ResultsStoreError): append_results([{**ROW, 'seed': 9}], store)
    assert store.read_bytes() == before  # a write to a damaged store changes nothing


def test_refused_and_failed_writes_leave_the_store_byte_identical(store, monkeypatch):
    before = store.read_bytes()
    with pytest.raises(ResultsStoreError, match='refusing to write: result rows lack columns: metric') as ei:
        append_results([{k: v for k, v in ROW.items() if k != 'metric'}], store)
    _names(ei.value, store)
    def full_disk(self, f, **kw): f.write('model,size\nhalf'); raise OSError(28, 'No space left on device')
    monkeypatch.setattr(pd.DataFrame, 'to_csv', full_disk)
    with pytest.raises(OSError, match='No space left'): append_results([{**ROW, 'seed': 7}], store)
    assert store.read_bytes() == before
    assert sorted(p.name for p in store.parent.iterdir()) == ['results.csv', 'results.csv.lock']  # no temporary file left behind


# ---------------------------------------------------------------- caches
@pytest.fixture(scope='module')
def cache(tmp_path_factory):
    d = tmp_path_factory.mktemp('cache')
    data = Path(__file__).parent/'data'/'cinc2021'
    idx = pd.DataFrame(dict(record_id=['JS20000', 'JS20001', 'HR06000'], path=['JS20000', 'JS20001', 'HR06000']))
    build_cache(idx, data, d/'good', workers=0, progress=False)
    return d/'good'


def _json_edit(f, **kw): f.write_text(json.dumps({**json.loads(f.read_text()), **kw}))


CACHE_DAMAGE = {
    'manifest not JSON': ('manifest.json', lambda d: (d/'manifest.json').write_text('{"spec": '), 'not valid JSON'),
    'manifest spec edited': ('manifest.json', lambda d: _json_edit(d/'manifest.json', spec={**json.loads((d/'manifest.json').read_text())['spec'], 'fs': 250}), 'is not the key of its spec'),
    'manifest count edited': ('signals.npy', lambda d: _json_edit(d/'manifest.json', n_records=4), 'but manifest.json describes float32 (4, 12, 5000)'),
    'manifest of something else': ('manifest.json', lambda d: (d/'manifest.json').write_text('[1, 2, 3]'), 'not a clef_nb cache manifest'),
    'signals cut short': ('signals.npy', lambda d: (d/'signals.npy').write_bytes((d/'signals.npy').read_bytes()[:50_000]), 'not a readable .npy array'),
    'signals of another shape': ('signals.npy', lambda d: np.save(d/'signals.npy', np.zeros((3, 1, 5000), np.float32)), 'holds float32 (3, 1, 5000)'),
    'signals missing': ('signals.npy', lambda d: (d/'signals.npy').unlink(), 'missing; the manifest describes 3 records'),
    'status of another length': ('status.npy', lambda d: np.save(d/'status.npy', np.ones(5, np.int8)), '5 entries with 5 ok'),
    'index rows lost': ('index.csv', lambda d: (d/'index.csv').write_text('\n'.join((d/'index.csv').read_text().splitlines()[:-1]) + '\n'), '2 rows, but manifest.json'),
    'index emptied': ('index.csv', lambda d: (d/'index.csv').write_text(''), 'cannot be read'),
    'build unfinished': ('', lambda d: _json_edit(d/'manifest.json', complete=False), 'cache build did not finish'),
}


@pytest.mark.parametrize('case', list(CACHE_DAMAGE))
def test_damaged_cache_names_the_file_at_fault(cache, tmp_path, case):
    fname, damage, message = CACHE_DAMAGE[case]
    d = tmp_path/'c'; shutil.copytree(cache, d)
    damage(d)
    with pytest.raises(CacheError) as ei: open_cache(d)
    _names(ei.value, d/fname if fname else d); assert message in str(ei.value), str(ei.value)


def test_good_cache_opens_and_missing_cache_is_named(cache, tmp_path):
    assert len(open_cache(cache)) == 3
    with pytest.raises(CacheNotFound) as ei: open_cache(tmp_path/'nothing')
    _names(ei.value, tmp_path/'nothing'); assert isinstance(ei.value, FileNotFoundError)
