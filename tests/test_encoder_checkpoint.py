"""Official CLEF checkpoints: the documented key list, strict loading, refusals, and outputs checked against an
independent functional forward pass written from `reference/clef_checkpoint_format.md`."""
import math, re
from pathlib import Path

import pytest, torch, torch.nn.functional as F
from safetensors.torch import save_file

from clef_nb.encoder import (CheckpointError, Net1D, SIZES, load_clef_checkpoint, net1d, net1d_config,
                             read_checkpoint, save_checkpoint)

KEY_LIST = Path(__file__).resolve().parent / 'data' / 'clef_checkpoint' / 'small_keys.tsv'  # the official small model's keys


def official_keys(size='small', in_channels=1):
    "Key → shape of the official encoder's state dict, generated from the documented structure (not from clef_nb)."
    c = SIZES[size]
    out = {'first_conv.conv.weight': (c['base_filters'], in_channels, 16), 'first_conv.conv.bias': (c['base_filters'],)}
    bn = lambda p, n: {f'{p}.weight': (n,), f'{p}.bias': (n,), f'{p}.running_mean': (n,), f'{p}.running_var': (n,),
                       f'{p}.num_batches_tracked': ()}
    out |= bn('first_bn', c['base_filters'])
    ci = c['base_filters']
    for i, (co, m) in enumerate(zip(c['filter_list'], c['m_blocks_list'])):
        for j in range(m):
            cin, mid, p = (ci if j == 0 else co), int(co * c['ratio']), f'stage_list.{i}.block_list.{j}'
            g = co // c['groups_width']
            out |= bn(f'{p}.bn1', cin) | {f'{p}.conv1.conv.weight': (mid, cin, 1), f'{p}.conv1.conv.bias': (mid,)}
            out |= bn(f'{p}.bn2', mid) | {f'{p}.conv2.conv.weight': (mid, mid // g, 16), f'{p}.conv2.conv.bias': (mid,)}
            out |= bn(f'{p}.bn3', mid) | {f'{p}.conv3.conv.weight': (co, mid, 1), f'{p}.conv3.conv.bias': (co,)}
            out |= {f'{p}.se_fc1.weight': (co // 2, co), f'{p}.se_fc1.bias': (co // 2,),
                    f'{p}.se_fc2.weight': (co, co // 2), f'{p}.se_fc2.bias': (co,)}
        ci = co
    return out


def random_official_state(size='small', in_channels=1, seed=0, dtype=torch.float64):
    "Random encoder weights under the official keys; batch-norm entries at their untouched defaults."
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for k, shape in official_keys(size, in_channels).items():
        if k.endswith('num_batches_tracked'): sd[k] = torch.tensor(0)
        elif re.search(r'(first_bn|bn\d)\.(weight|running_var)$', k): sd[k] = torch.ones(shape, dtype=dtype)
        elif re.search(r'(first_bn|bn\d)\.(bias|running_mean)$', k): sd[k] = torch.zeros(shape, dtype=dtype)
        else: sd[k] = torch.randn(shape, generator=g, dtype=dtype) / math.sqrt(max(1, math.prod(shape[1:])))
    return sd


def lightning(sd, **extra):
    "Wrap encoder weights as the official pretraining wrapper saves them, with wrapper-only entries."
    return {'epoch': 7, 'global_step': 700, 'pytorch-lightning_version': '2.4.0',
            'state_dict': {**{'backbone.' + k: v for k, v in sd.items()}, **extra},
            'optimizer_states': [{'state': {}, 'param_groups': [{'lr': 1e-4, 'params': [0, 1]}]}],
            'lr_schedulers': [{'T_0': 10, 'T_mult': 2, 'eta_min': 1e-6}]}


def reference_forward(sd, size, x):
    "Net1D's embedding computed with plain functional ops from the format document's conventions."
    c = SIZES[size]
    swish = lambda t: t * torch.sigmoid(t)
    def same(t, w, b, s, groups=1):
        L, k = t.shape[-1], w.shape[-1]
        p = max(0, (math.ceil(L / s) - 1) * s + k - L)
        return F.conv1d(F.pad(t, (p // 2, p - p // 2)), w, b, s, groups=groups)
    h = swish(same(x, sd['first_conv.conv.weight'], sd['first_conv.conv.bias'], 2))
    for i, (co, m) in enumerate(zip(c['filter_list'], c['m_blocks_list'])):
        for j in range(m):
            p, s = f'stage_list.{i}.block_list.{j}.', (2 if j == 0 else 1)
            t = h if i == j == 0 else swish(h)
            t = swish(same(t, sd[p + 'conv1.conv.weight'], sd[p + 'conv1.conv.bias'], 1))
            t = swish(same(t, sd[p + 'conv2.conv.weight'], sd[p + 'conv2.conv.bias'], s, co // c['groups_width']))
            t = same(t, sd[p + 'conv3.conv.weight'], sd[p + 'conv3.conv.bias'], 1)
            se = swish(t.mean(-1) @ sd[p + 'se_fc1.weight'].T + sd[p + 'se_fc1.bias'])
            t = t * torch.sigmoid(se @ sd[p + 'se_fc2.weight'].T + sd[p + 'se_fc2.bias'])[:, :, None]
            sc = F.max_pool1d(F.pad(h, (0, 1)), 2) if s == 2 else h      # kernel 2: pad (k-1)//2 = 0 left, 1 right
            d = co - sc.shape[1]
            if d: sc = torch.cat([sc.new_zeros(len(sc), d // 2, sc.shape[-1]), sc, sc.new_zeros(len(sc), d - d // 2, sc.shape[-1])], 1)
            h = t + sc
    return h.mean(-1)


def test_key_list_matches_the_format_document():
    keys = official_keys('small')
    assert len(keys) == 257
    assert [(k, tuple(v.shape)) for k, v in net1d('small').state_dict().items()] == list(keys.items())
    doc = re.findall(r'^(first_\S+|stage_list\S+)\t\[([\d, ]*)\]$', KEY_LIST.read_text(), flags=re.M)
    assert len(doc) == 257
    assert [(k, tuple(int(n) for n in s.split(',') if n.strip())) for k, s in doc] == list(keys.items())


@pytest.mark.parametrize('size,n', [('medium', 507), ('large', 957)])
def test_key_lists_of_larger_sizes(size, n):
    with torch.device('meta'): m = net1d(size)
    have = [(k, tuple(v.shape)) for k, v in m.state_dict().items()]
    assert len(have) == n and have == list(official_keys(size).items())


@pytest.mark.parametrize('in_channels', [1, 12])
def test_official_checkpoint_loads_strictly_and_matches_reference(tmp_path, in_channels):
    sd = random_official_state('small', in_channels)
    extra = {**{'backbone_k.' + k: v for k, v in sd.items()}, 'queue': torch.randn(256, 32),
             'queue_ptr': torch.zeros(1, dtype=torch.long)}
    torch.save(lightning(sd, **extra), tmp_path / 'clef_small.ckpt')
    assert load_clef_checkpoint(tmp_path / 'clef_small.ckpt').cfg == net1d_config('small', in_channels)  # size inferred
    model = load_clef_checkpoint(tmp_path / 'clef_small.ckpt', net1d('small', in_channels).double())
    x = torch.randn(3, in_channels, 1237, dtype=torch.float64)   # an odd length exercises the padding rules
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference_forward(sd, 'small', x), rtol=1e-10, atol=1e-10)
        lean = load_clef_checkpoint(tmp_path / 'clef_small.ckpt', net1d('small', in_channels, keep_bn=False).double())
        torch.testing.assert_close(lean(x), model(x), rtol=0, atol=0)


def test_round_trip_official_to_clef_nb(tmp_path):
    sd = random_official_state('small', dtype=torch.float32)
    torch.save(lightning(sd), tmp_path / 'clef_small.ckpt')
    model = load_clef_checkpoint(tmp_path / 'clef_small.ckpt')
    p = save_checkpoint(model, tmp_path / 'clef_small.safetensors', {'source': 'official', 'fs': 500})
    again = load_clef_checkpoint(p)
    w, card = read_checkpoint(p)
    assert card['source'] == 'official' and card['encoder']['in_channels'] == 1
    assert list(again.state_dict()) == list(sd)
    for k, v in sd.items(): assert torch.equal(w[k], v) and torch.equal(again.state_dict()[k], v), k
    x = torch.randn(2, 1, 5000)
    with torch.no_grad(): assert torch.equal(again(x), model(x))


def test_medium_checkpoint_is_recognised(tmp_path):
    with torch.device('meta'): m = net1d('medium', keep_bn=False)
    sd = {k: torch.zeros(v.shape) for k, v in m.state_dict().items()}   # a lean (no batch-norm) official-style file
    torch.save(lightning(sd), tmp_path / 'm.ckpt')
    assert load_clef_checkpoint(tmp_path / 'm.ckpt').cfg == net1d_config('medium', keep_bn=False)


@pytest.mark.parametrize('edit,message', [
    (lambda sd: sd.pop('stage_list.3.block_list.1.conv2.conv.weight'), 'missing keys: stage_list.3.block_list.1.conv2.conv.weight'),
    (lambda sd: sd.update({'dense.weight': torch.zeros(3, 256)}), 'unexpected keys: dense.weight'),
    (lambda sd: sd.update({'se_extra': torch.zeros(1)}), 'unexpected keys: se_extra'),
    (lambda sd: sd.update({'stage_list.0.block_list.0.se_fc1.weight': torch.zeros(16, 33)}),
     'wrong shapes: stage_list.0.block_list.0.se_fc1.weight (16, 33)≠(16, 32)'),
    (lambda sd: sd.pop('first_bn.running_var'), 'missing keys: first_bn.running_var'),
])
def test_mismatched_official_checkpoint_is_refused(tmp_path, edit, message):
    sd = random_official_state('small', dtype=torch.float32)
    edit(sd)
    torch.save(lightning(sd), tmp_path / 'bad.ckpt')
    with pytest.raises(CheckpointError, match=re.escape(message)): load_clef_checkpoint(tmp_path / 'bad.ckpt')
    with pytest.raises(CheckpointError, match=re.escape(message)): load_clef_checkpoint(tmp_path / 'bad.ckpt', net1d('small'))


def test_bn_keys_are_set_aside_only_when_all_present(tmp_path):
    sd = random_official_state('small', dtype=torch.float32)
    sd.pop('stage_list.2.block_list.1.bn2.running_mean')
    torch.save(lightning(sd), tmp_path / 'bad.ckpt')
    with pytest.raises(CheckpointError, match='unexpected keys'):
        load_clef_checkpoint(tmp_path / 'bad.ckpt', net1d('small', keep_bn=False))


class _Payload:
    def __init__(self, path): self.path = path
    def __reduce__(self): return (Path.write_text, (Path(self.path), 'executed'))


def test_arbitrary_pickles_are_never_executed(tmp_path):
    flag = tmp_path / 'flag'
    ck = lightning(random_official_state('small', dtype=torch.float32))
    ck['hyper_parameters'] = _Payload(flag)
    torch.save(ck, tmp_path / 'evil.ckpt')
    with pytest.raises(CheckpointError, match='weights_only=True'): load_clef_checkpoint(tmp_path / 'evil.ckpt')
    assert not flag.exists()


def test_other_files_are_refused(tmp_path):
    torch.save(random_official_state('small', dtype=torch.float32), tmp_path / 'bare.pt')     # a bare state dict
    with pytest.raises(CheckpointError, match='not an official CLEF checkpoint'): load_clef_checkpoint(tmp_path / 'bare.pt')
    (tmp_path / 'junk.ckpt').write_bytes(b'not a checkpoint at all')
    with pytest.raises(CheckpointError): load_clef_checkpoint(tmp_path / 'junk.ckpt')
    save_file({'x': torch.zeros(2)}, str(tmp_path / 'nocard.safetensors'))
    with pytest.raises(CheckpointError, match='without a clef_nb model card'): load_clef_checkpoint(tmp_path / 'nocard.safetensors')
    save_checkpoint(torch.nn.Linear(2, 2), tmp_path / 'lin.safetensors', {})
    with pytest.raises(CheckpointError, match='no encoder configuration'): load_clef_checkpoint(tmp_path / 'lin.safetensors')
    p = save_checkpoint(net1d('small'), tmp_path / 's.safetensors', {})
    with pytest.raises(CheckpointError, match='wrong shapes: first_conv.conv.weight'):
        load_clef_checkpoint(p, net1d('small', in_channels=12))


def test_unknown_shape_names_closest_size(tmp_path):
    sd = random_official_state('small', dtype=torch.float32)
    sd = {k: v for k, v in sd.items() if not k.startswith('stage_list.5.')}   # a five-stage encoder
    torch.save(lightning(sd), tmp_path / 'odd.ckpt')
    with pytest.raises(CheckpointError, match=r'matches no published size \(closest: \(32, 64, 64, 128, 128, 256\)\); missing keys'):
        load_clef_checkpoint(tmp_path / 'odd.ckpt')
