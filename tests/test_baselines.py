"The five foundation-model baselines load strictly from files in their published layouts, embed, and refuse bad files and inputs by name."
import subprocess, sys
from argparse import Namespace
from pathlib import Path
import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from clef_nb.baselines import (WeightsNotGiven, baseline_status, embed_signal, write_layout, ECGFOUNDER_CONTRACT, STMEM_CONTRACT,
                               KED_CONTRACT, MOMENT_CONTRACT, MOIRAI_CONTRACT, T5EncoderConfig, MoiraiConfig)
from clef_nb.encoder import CheckpointError
from clef_nb.embedding import get_encoder, random_encoder, ADAPTERS

ROOT = Path(__file__).resolve().parents[1]
# name, file name as published, embedding size, samples at 500 Hz, contract
MODELS = [('ecgfounder', '1_lead_ECGFounder.pth', 1024, 5000, ECGFOUNDER_CONTRACT),
          ('st-mem', 'st_mem_vit_base_full.pth', 768, 4950, STMEM_CONTRACT),
          ('ked', 'best_valid_all_increase_with_augment_epoch_3.pt', 768, 5000, KED_CONTRACT),
          ('moment', 'model.safetensors', 768, 5000, MOMENT_CONTRACT),
          ('moirai', 'model.safetensors', 768, 4992, MOIRAI_CONTRACT)]


@pytest.fixture(scope='module')
def founder(tmp_path_factory):
    "A full-size ECGFounder file, offered under the other models' names."
    return write_layout('ecgfounder', tmp_path_factory.mktemp('founder')/'1_lead_ECGFounder.pth')


@pytest.mark.parametrize('name,fname,dim,n,contract', MODELS, ids=[m[0] for m in MODELS])
def test_full_size_layout_loads_strictly_and_embeds(tmp_path, name, fname, dim, n, contract):
    path = write_layout(name, tmp_path/fname, seed=1)
    enc = get_encoder(f'{name}:{path}')
    assert (enc.dim, enc.fs, round(enc.fs * enc.seconds), enc.n_leads) == (dim, 500., n, 1)
    assert enc.key.startswith(f'{name}:') and enc.name == name
    x = np.random.default_rng(0).standard_normal((1, 1, n)).astype(np.float32)
    x = (x - x.mean()) / x.std()                                          # already z-scored, as embed_signal feeds it
    z = embed_signal(enc, x, 500)
    assert z.shape == (1, dim) and np.isfinite(z).all()
    assert np.allclose(get_encoder(f'{name}:{path}').model(torch.from_numpy(x)).detach().numpy(), z, atol=1e-4)    # deterministic, KED's new stem included
    with pytest.raises(ValueError, match=r'takes x: \(batch, 1, %d\)' % n):
        enc.model(torch.zeros(1, 2, n))                                   # two leads
    with pytest.raises(ValueError, match='takes 500 Hz input'):
        embed_signal(enc, x[..., :n // 2], 250)                          # another rate, stated
    with pytest.raises(ValueError, match=r'got \(1, 1, %d\)' % (n // 2)):
        enc.model(torch.zeros(1, 1, n // 2))                              # another rate, unstated: wrong length
    head = path.read_bytes()[:path.stat().st_size // 3]
    path.write_bytes(head)                                                # truncated download
    with pytest.raises(CheckpointError) as e: get_encoder(f'{name}:{path}')
    assert str(path) in str(e.value) and contract in str(e.value)


@pytest.mark.parametrize('name', ['st-mem', 'ked', 'moment', 'moirai'])
def test_another_models_file_is_refused(founder, name):
    contract = {m[0]: m[4] for m in MODELS}[name]
    with pytest.raises(CheckpointError) as e: get_encoder(f'{name}:{founder}')
    assert str(founder) in str(e.value) and contract in str(e.value)


def test_small_files_of_the_wrong_model_or_size(tmp_path):
    mo = write_layout('moment', tmp_path/'moment.safetensors', cfg=T5EncoderConfig(d_model=64, d_kv=16, d_ff=128, heads=4, layers=1, vocab=10))
    mi = write_layout('moirai', tmp_path/'moirai.safetensors', cfg=MoiraiConfig(d_model=64, layers=1))
    ked = write_layout('ked', tmp_path/'ked.pt', layers=(1, 1, 1, 1), widths=(8, 8, 8, 16))
    for spec, contract in [(f'moirai:{mo}', MOIRAI_CONTRACT), (f'moment:{mi}', MOMENT_CONTRACT), (f'moment:{mo}', MOMENT_CONTRACT),
                           (f'ecgfounder:{ked}', ECGFOUNDER_CONTRACT), (f'ked:{ked}', KED_CONTRACT)]:
        with pytest.raises(CheckpointError, match='published layout|no state dict under') as e: get_encoder(spec)
        assert contract in str(e.value), spec
    with pytest.raises(CheckpointError, match='wrong shapes'): get_encoder(f'ked:{ked}')   # right keys, smaller network


def test_pickled_objects_are_refused(tmp_path):
    p = tmp_path/'st_mem.pth'
    torch.save(dict(model={}, config=Namespace(model_name='st_mem_vit_base')), p)      # an arbitrary object in the pickle
    with pytest.raises(CheckpointError, match='not loadable with weights_only=True') as e: get_encoder(f'st-mem:{p}')
    assert str(p) in str(e.value) and STMEM_CONTRACT in str(e.value)
    save_file({'x': torch.zeros(3)}, str(tmp_path/'model.safetensors'))
    with pytest.raises(CheckpointError, match='missing keys'): get_encoder(f'moirai:{tmp_path}')   # a folder: its model.safetensors


@pytest.mark.parametrize('name', [m[0] for m in MODELS])
def test_missing_weights_say_not_run(tmp_path, name):
    for spec in (f'{name}:', f'{name}:{tmp_path}/absent.pth'):
        assert baseline_status(spec) == 'not run: weights not given'
        with pytest.raises(WeightsNotGiven, match='not run: weights not given'): get_encoder(spec)
    with pytest.raises(FileNotFoundError): get_encoder(f'{name}:{tmp_path}/absent.pth')   # still a FileNotFoundError


def test_get_encoder_keeps_its_other_specs(tmp_path):
    assert get_encoder('random:small:2').key == 'random:small:2'
    from clef_nb.encoder import save_checkpoint
    p = save_checkpoint(random_encoder().model, tmp_path/'run:3.safetensors', dict(method='clef', size='small'))
    assert get_encoder(p).method == 'clef'                               # a checkpoint path with a colon is still a path
    with pytest.raises(FileNotFoundError, match='no checkpoint here'): get_encoder(tmp_path/'missing.safetensors')
    assert set(ADAPTERS) >= {'ecgfounder', 'st-mem', 'ked', 'moment', 'moirai'}


def test_adapters_register_on_first_use_in_a_fresh_process():
    code = ("import sys\nfrom clef_nb.embedding import get_encoder\nassert 'clef_nb.baselines' not in sys.modules\n"
            "try: get_encoder('moirai:')\nexcept FileNotFoundError as e: print(type(e).__name__, e)")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT)
    assert 'WeightsNotGiven Moirai: not run: weights not given' in r.stdout, r.stderr


def test_fine_tuning_and_probe_take_a_baseline_unchanged(tmp_path):
    "A (small) Moirai goes through the same fine-tuning as CLEF's encoder: trained, or frozen as CLEF runs Moirai; SYNTHETIC data."
    from clef_nb.baselines import moirai_encoder
    from clef_nb.evaluate import synthetic_tasks
    from clef_nb.probe import task_data
    from clef_nb.finetune import finetune, FinetuneConfig
    from clef_nb.embedding import stored_embeddings
    cache, tasks = synthetic_tasks(tmp_path/'synth', n_patients=24, seed=2)
    small = MoiraiConfig(d_model=64, layers=1)
    enc = moirai_encoder(write_layout('moirai', tmp_path/'model.safetensors', cfg=small), cfg=small)
    td = task_data(tasks['synth_hr'], cache)
    before = {k: v.clone() for k, v in enc.model.state_dict().items()}
    for freeze in (False, True):
        p, info = finetune(enc, cache, td, td.part('train'), td.part('val'), td.part('test'), lead='I',
                           cfg=FinetuneConfig(max_epochs=2, batch=16, freeze=freeze))
        assert p.shape == (len(td.part('test')),) and np.isfinite(p).all() and info['epochs'] == 2
    assert all(torch.equal(before[k], v) for k, v in enc.model.state_dict().items())   # the encoder itself is never modified
    E = stored_embeddings(enc, cache, 'I', progress=False)
    assert E.shape == (len(cache), 64) and np.isfinite(E[cache.index.ok.to_numpy()]).all()
