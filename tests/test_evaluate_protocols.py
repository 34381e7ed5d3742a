"Evaluation protocols on a small synthetic downstream cache: embedding reuse, probe sanity, fine-tuning, stored rows, devices (clef_nb.embedding, .probe, .finetune, .evaluate)."
import dataclasses
import numpy as np, pandas as pd, pytest, torch
from clef_nb.encoder import net1d, save_checkpoint
from clef_nb.tasks import Task
from clef_nb.metrics import task_metric
from clef_nb.results import load_results, KEY
from clef_nb.embedding import (Encoder, DeviceError, stored_embeddings, embedding_key, encoder_inputs, get_encoder, random_encoder,
                               resolve_device)
from clef_nb.probe import label_subset, linear_probe, task_data
from clef_nb.finetune import FinetuneConfig, finetune
from clef_nb.evaluate import evaluate_task, evaluate_suite, synthetic_tasks
from clef_nb.views import zscore


@pytest.fixture(scope='module')
def synth(tmp_path_factory):
    return synthetic_tasks(tmp_path_factory.mktemp('synth'), n_patients=60, seed=1)


class Counting(torch.nn.Module):
    def __init__(self, m): super().__init__(); self.m, self.calls = m, 0
    def forward(self, x): self.calls += 1; return self.m(x)


def _blobs(n=3000, d=16, seed=0):
    g = np.random.default_rng(seed)
    y = g.integers(0, 3, n); X = g.normal(size=(n, d)); X[np.arange(n), y] += 5
    return X, y, np.split(np.arange(n), [int(.6 * n), int(.8 * n)])


@pytest.mark.parametrize('kind', ['binary', 'multiclass', 'multilabel'])
def test_probe_separable_near_one_shuffled_near_half(kind):
    X, y3, (tr, va, te) = _blobs()
    y = {'binary': (y3 == 0).astype(float), 'multiclass': y3, 'multilabel': np.eye(3)[y3]}[kind]
    p, info = linear_probe(X, y, tr, va, te, kind, 3 if kind == 'multiclass' else None)
    assert task_metric(y[te], p, kind)[0] > 0.98
    ys = y[np.random.default_rng(1).permutation(len(y))]            # labels independent of the features
    ps, _ = linear_probe(X, ys, tr, va, te, kind, 3 if kind == 'multiclass' else None)
    assert abs(task_metric(ys[te], ps, kind)[0] - 0.5) < 0.08
    assert info['C'] in info['val_loss']


def test_probe_end_to_end_on_a_separable_synthetic_task(synth, tmp_path):
    cache, _ = synth
    enc = random_encoder('small', 0)
    E = stored_embeddings(enc, cache, 'II', progress=False)
    u = (E - E.mean(0)) @ np.linalg.svd(E - E.mean(0), full_matrices=False)[2][0]     # first principal direction
    sep = (u > np.median(u)).astype(int)
    shuf = np.random.default_rng(0).permutation(sep)
    c2 = dataclasses.replace(cache, index=cache.index.assign(sep=sep, shuf=shuf))
    mk = lambda t: Task(f'toy_{t}', 'synthetic', 'binary', ('pos',), t, 'auroc', '', 'patients', ('II',))
    df, _ = evaluate_task(enc, mk('sep'), c2, protocol='probe', lead='II', seeds=(0,), n_boot=300, store=tmp_path/'r.csv', progress=False)
    a = df[(df.metric == 'auroc') & (df.subgroup == 'all')].iloc[0]
    assert a.value > 0.95
    df, _ = evaluate_task(enc, mk('shuf'), c2, protocol='probe', lead='II', seeds=(0,), n_boot=300, progress=False)
    a = df[(df.metric == 'auroc') & (df.subgroup == 'all')].iloc[0]
    assert a.ci_low < 0.5 < a.ci_high and abs(a.value - 0.5) < 0.25


def test_embeddings_computed_once_and_keyed(synth, tmp_path):
    cache, _ = synth
    base = random_encoder('small', 7)
    enc = dataclasses.replace(base, model=Counting(base.model))
    E1 = stored_embeddings(enc, cache, 'I', batch=50, progress=False); n1 = enc.model.calls
    E2 = stored_embeddings(enc, cache, 'I', batch=50, progress=False)
    assert n1 == -(-len(cache) // 50) and enc.model.calls == n1 and np.array_equal(E1, E2)
    assert (cache.path/'embeddings'/f"{embedding_key(enc, cache, 'I')}.npy").is_file()
    stored_embeddings(enc, cache, 'II', batch=50, progress=False); assert enc.model.calls == 2 * n1      # another lead: new key
    assert embedding_key(enc, cache, 'I') != embedding_key(dataclasses.replace(enc, key='random:small:8'), cache, 'I')


def test_official_and_clef_nb_checkpoints_embed_alike(synth, tmp_path):
    cache, _ = synth
    torch.manual_seed(3); m = net1d('small')
    ours = save_checkpoint(m, tmp_path/'enc.safetensors', dict(method='clef', variant='paper', size='small'))
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in m.state_dict().items()}}, tmp_path/'official.ckpt')
    a, b = get_encoder(ours), get_encoder(tmp_path/'official.ckpt')
    assert a.key != b.key and (a.method, a.size) == ('clef', 'small') and b.size == 'small'
    x = encoder_inputs(cache, np.arange(4), 'II', a)
    with torch.no_grad(): assert torch.allclose(a.model(x), b.model(x))


def test_adapter_gets_its_own_rate_and_length(synth):
    cache, _ = synth
    seen = {}
    class Probe(torch.nn.Module):
        def forward(self, x): seen['shape'] = tuple(x.shape); return x.mean(-1)
    enc = Encoder(Probe(), 2, 'probe:v0', 'probe', fs=250, seconds=12, n_leads=2, norm='none')
    E = stored_embeddings(enc, cache, ('I', 'II'), progress=False)
    assert seen['shape'][1:] == (2, 3000) and E.shape == (len(cache), 2)
    with pytest.raises(ValueError, match='takes 2 lead'): encoder_inputs(cache, [0], 'II', enc)


def test_label_subset_is_by_patient_and_nested():
    pid = np.repeat(np.arange(200).astype(str), 3)
    m1, m10 = label_subset(pid, 0.01, seed=4), label_subset(pid, 0.1, seed=4)
    assert len(np.unique(pid[m1])) == 2 and len(np.unique(pid[m10])) == 20
    assert not (m1 & ~m10).any()
    for p in np.unique(pid): assert m10[pid == p].all() or not m10[pid == p].any()


def test_task_data_names_missing_columns_and_drops_skipped_rows(synth):
    cache, tasks = synth
    ok = cache.index.ok.to_numpy().copy(); ok[:3] = False
    td = task_data(tasks['synth_hr'], dataclasses.replace(cache, index=cache.index.assign(ok=ok)))
    assert len(td.rows) == len(cache) - 3 and td.rows.min() == 3
    with pytest.raises(KeyError, match="no 'split' column"):
        task_data(tasks['synth_hr'], dataclasses.replace(cache, index=cache.index.drop(columns='split')))


@pytest.mark.parametrize('task', ['synth_rhythm', 'synth_hr'])
def test_finetune_outputs(synth, task):
    cache, tasks = synth
    td = task_data(tasks[task], cache)
    enc = random_encoder()
    w0 = [p.clone() for p in enc.model.parameters()]
    p, info = finetune(enc, cache, td, td.part('train'), td.part('val'), td.part('test'), lead='II', seed=0, cfg=FinetuneConfig(max_epochs=1))
    assert info['epochs'] == 1 and len(p) == len(td.part('test'))
    if task == 'synth_rhythm': assert p.shape[1] == 3 and np.allclose(p.sum(1), 1, atol=1e-5)
    else: assert 40 < p.mean() < 110                            # bpm, not standardised units
    assert all(torch.equal(a, b) for a, b in zip(w0, enc.model.parameters()))


def test_finetune_protocol_rows_and_replacement(synth, tmp_path):
    cache, tasks = synth
    enc, store = random_encoder(), tmp_path/'results.csv'
    cfg = FinetuneConfig(max_epochs=1, freeze=True)
    df, runs = evaluate_task(enc, tasks['synth_af'], cache, protocol='finetune', lead='II', seeds=(0,), n_boot=200, store=store, finetune_cfg=cfg, progress=False)
    assert {'auroc', 'auprc', 'ece'} <= set(df.metric) and {'sex=F', 'sex=M'} <= set(df.subgroup)
    main = df[(df.metric == 'auroc') & (df.subgroup == 'all')].iloc[0]
    assert main.n_test_patients == len(np.unique(runs[0].pid)) and main.n_test_ecgs == len(runs[0].y) and main.synthetic
    evaluate_task(enc, tasks['synth_af'], cache, protocol='finetune', lead='II', seeds=(0,), n_boot=200, store=store, finetune_cfg=cfg, progress=False)
    st = load_results(store)
    assert len(st) == len(df) and not st.duplicated(list(KEY)).any()


def test_inputs_are_zscored_as_in_pretraining(synth):
    "One z-score: the encoder's inputs are `clef_nb.views.zscore` of the cache's lead."
    cache, _ = synth
    enc = random_encoder()
    x = encoder_inputs(cache, np.arange(3), 'II', enc)
    raw = torch.from_numpy(np.nan_to_num(cache.read(np.arange(3), ['II'])).astype(np.float32))
    assert torch.equal(x, zscore(raw))


def test_explicit_cpu_matches_auto_here_and_an_absent_gpu_is_named(synth, tmp_path):
    cache, tasks = synth
    enc = random_encoder('small', 3)
    E = stored_embeddings(enc, cache, 'II', progress=False, reuse=False, device='cpu')
    if torch.cuda.is_available(): pytest.skip('this machine has a GPU: the refusal cannot be shown')
    np.testing.assert_array_equal(E, stored_embeddings(enc, cache, 'II', progress=False, reuse=False, device='auto'))
    msg = "device='cuda': no CUDA GPU is available on this machine"
    with pytest.raises(DeviceError, match=msg): resolve_device('cuda')
    with pytest.raises(DeviceError, match=msg): stored_embeddings(enc, cache, 'II', progress=False, reuse=False, device='cuda')
    td = task_data(tasks['synth_hr'], cache)
    with pytest.raises(DeviceError, match=msg): finetune(enc, cache, td, td.part('train'), td.part('val'), td.part('test'), device='cuda')
    with pytest.raises(DeviceError, match=msg): evaluate_task(enc, tasks['synth_af'], cache, device='cuda', store=tmp_path/'r.csv')
    with pytest.raises(DeviceError, match=msg): evaluate_suite([enc], [(tasks['synth_af'], cache, True)], device='cuda')
    assert not (tmp_path/'r.csv').exists()                                  # refused before any work
    with pytest.raises(DeviceError, match="precision='fp16'"): evaluate_task(enc, tasks['synth_af'], cache, precision='fp16')


def test_evaluation_parameters_past_the_cache_are_keywords(synth):
    cache, tasks = synth
    with pytest.raises(TypeError, match='positional'): evaluate_task(random_encoder(), tasks['synth_af'], cache, 'probe')
    with pytest.raises(TypeError, match='positional'): evaluate_suite([random_encoder()], [], ('probe',))
