"The fast encoder and training paths compute what the released formulation computes; bf16 training tracks float32; the README's throughput table is the committed benchmark result."
import json, math, re, sys
from pathlib import Path
import numpy as np, pytest, torch
import torch.nn.functional as F
from clef_nb.encoder import load_clef_checkpoint, net1d, _pool_same, _conv_same, _nwc, _ncw, _pad_same
from clef_nb.train import PretrainConfig, Run, build_method, build_schedule
from clef_nb.views import NoiseBank, ViewConfig
from test_encoder_checkpoint import random_official_state, lightning, reference_forward

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize('length', [5000, 1237])
def test_official_weights_give_official_outputs_in_fp32(tmp_path, length):
    "float32, as used in practice: the NWC, pad-inside-the-conv encoder against the released formulation, to 1e-5."
    sd = random_official_state('small', dtype=torch.float32)
    torch.save(lightning(sd), tmp_path/'clef_small.ckpt')
    model = load_clef_checkpoint(tmp_path/'clef_small.ckpt')
    x = torch.randn(4, 1, length)
    with torch.no_grad(): torch.testing.assert_close(model(x), reference_forward(sd, 'small', x), rtol=1e-5, atol=1e-5)


def test_gradients_match_the_released_formulation():
    "One backward pass: the parameter gradients of the fast path equal those of explicit padding, NCW and max_pool1d."
    torch.manual_seed(0)
    enc = net1d('small'); x = torch.randn(3, 1, 1237)
    enc(x).square().sum().backward()
    fast = {n: p.grad.clone() for n, p in enc.named_parameters() if p.grad is not None}
    enc.zero_grad()
    sd = {k: v for k, v in enc.state_dict().items()}
    params = {n: p for n, p in enc.named_parameters()}
    reference_forward(params, 'small', x).square().sum().backward()
    for n, g in fast.items(): torch.testing.assert_close(g, params[n].grad, rtol=1e-4, atol=1e-5, msg=n)


def test_pool_and_conv_agree_in_both_layouts():
    torch.manual_seed(0)
    x = torch.randn(2, 8, 313)
    assert torch.equal(_ncw(_pool_same(_nwc(x), 2)), F.max_pool1d(F.pad(x, (0, 1)), 2))
    c = torch.nn.Conv1d(8, 8, 16, 2, groups=2)
    torch.testing.assert_close(_ncw(_conv_same(c, _nwc(x))), c(_pad_same(x, 16, 2)), rtol=1e-5, atol=1e-5)


N_STEPS, REL_TOL = 50, 0.02


def _losses(precision):
    "Losses of `N_STEPS` engine steps of CLEF (small, 8 patients, 500 samples of synthetic 12-lead signals) from seed 0."
    cfg = PretrainConfig(scale='small', batch_size=8, lr=1e-3, precision=precision, seed=0)
    method = build_method(cfg, N_STEPS)
    params = [p for p in method.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = build_schedule(opt, cfg, N_STEPS, N_STEPS)
    bank, g = NoiseBank.nstdb(500), torch.Generator().manual_seed(0)
    t = torch.arange(500) / 500
    rng = torch.Generator().manual_seed(1)
    x = torch.sin(2 * math.pi * (1 + torch.rand(16, 12, 1, generator=rng)) * t) + 0.1 * torch.randn(16, 12, 500, generator=rng)
    risk = torch.rand(16, generator=rng) * 20
    run = Run(cfg, method=method, model=method, params=params, opt=opt, sched=sched, bank=bank, g=g, vcfg=ViewConfig(),
              leads=('I', 'II', 'III', 'aVR', 'aVL', 'aVF', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6'), amp=precision == 'bf16')
    out = []
    for s in range(N_STEPS):
        i = torch.arange(8) + 8 * (s % 2)
        loss, _ = run.step((x[i], x[i], risk[i], risk[i]))
        out.append(loss.item())
    return np.array(out)


def test_bf16_training_tracks_fp32():
    """bf16 autocast's losses over 50 steps (200 would take minutes with emulated bf16 on CPUs without it) stay within
    2 % of float32's, averaged over the last 10 steps: bf16 keeps 8 bits of mantissa (relative rounding 0.4 %)."""
    torch.manual_seed(0)
    f32, b16 = _losses('fp32'), _losses('bf16')
    assert f32[-10:].mean() < f32[:10].mean(), 'the float32 run does not learn, so the comparison would say nothing'
    assert abs(b16[-10:].mean() - f32[-10:].mean()) <= REL_TOL * f32[-10:].mean(), (f32[-10:], b16[-10:])


def test_readme_throughput_table_is_the_newest_result():
    "The README's throughput table is `benchmarks/report.py`'s rendering of the newest committed JSON."
    sys.path.insert(0, str(ROOT/'benchmarks'))
    from report import perf_table, newest
    r, name = newest()
    assert r['benchmark'] == 'pretrain_throughput' and {'small', 'medium'} <= set(r['train'])
    assert perf_table() in (ROOT/'README.md').read_text(), 'README.md is stale: run python docs/build.py --readme'


def test_readme_other_measurements_are_the_newest_results():
    "The README's 'Other measurements' table is `benchmarks/report.py`'s rendering of the committed JSON results (a row without one says so)."
    sys.path.insert(0, str(ROOT/'benchmarks'))
    from report import other_table, OTHER
    t = other_table()
    assert len(t.splitlines()) == 2 + len(OTHER)
    assert sum('benchmarks/results' in l or '.json' in l for l in t.splitlines()) + t.count('not measured yet') == len(OTHER), t
    assert t in (ROOT/'README.md').read_text(), 'README.md is stale: run python docs/build.py --readme'


def test_other_table_says_what_is_missing(tmp_path):
    "A benchmark with no recorded result is listed as not measured, never given a figure."
    sys.path.insert(0, str(ROOT/'benchmarks'))
    from report import other_table, OTHER
    t = other_table(tmp_path)
    assert t.count('not measured yet') == len(OTHER), t
