"""Properties of the contrastive losses: loop references, permutation invariance, what they reduce to, missing
risks, extreme and low-precision embeddings, and a few SGD steps on a tiny encoder."""
import math

import pytest, torch, torch.nn.functional as F
from hypothesis import given, settings, strategies as st, HealthCheck

from clef_nb.encoder import Net1D, Net1DConfig
from clef_nb.losses import alignment_loss, clef_loss, clinical_prior, info_nce, weighted_nce
from clef_nb.ssl import BYOL, CLEF, MoCo, SimCLR, mlp

SETTINGS = dict(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
VARIANTS = ('paper', 'official')


@st.composite
def batches(draw, nan=True):
    "A two-view batch: z (2B, d), risk (B,) with some NaN, present (B,) or None, and a seed."
    B, d = draw(st.integers(2, 10)), draw(st.integers(2, 12))
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**31 - 1)))
    z = torch.randn(2 * B, d, generator=g, dtype=torch.float64)
    risk = torch.rand(B, generator=g, dtype=torch.float64) * 40
    if nan: risk[torch.rand(B, generator=g) < draw(st.sampled_from([0., .3]))] = float('nan')
    present = torch.rand(B, generator=g, dtype=torch.float64) if draw(st.booleans()) else None
    return z, risk, present


def loop_clef(z, risk, present, variant, tau=0.07, alpha=0.2):
    "CLEF's loss one pair at a time, from the formulas of `reference/clef_method.md` §1.2–1.5 (and our paper reading)."
    B, N = len(risk), len(z)
    u = F.normalize(z, dim=1); s = u @ u.T
    r = [(0. if not math.isfinite(x) else x) if variant == 'official' else x for x in risk.tolist()]
    known = lambda i, k: math.isfinite(r[i]) and math.isfinite(r[k])
    dmax = max([(r[i] - r[k]) ** 2 for i in range(B) for k in range(B) if known(i, k)] + [0.])
    p = None if present is None else [x if math.isfinite(x) else 0. for x in present.tolist()]
    def W(i, k):
        if i == k: return 0.
        d = (alpha + (1 - alpha) * (r[i] - r[k]) ** 2 / (dmax + 1e-6)) if known(i, k) else 1.
        return d * (1 if p is None else math.exp(-p[i] * p[k]))
    Wt = [[W(i % B, k % B) for k in range(N)] for i in range(N)]
    lw = []
    for n in range(N):
        pos = (n + B) % N
        negs = [k for k in range(N) if k not in (n, pos)]
        if variant == 'paper':
            den = math.exp(s[n, pos] / tau) + sum(Wt[n][k] * math.exp(s[n, k] / tau) for k in negs)
            lw.append(-(s[n, pos].item() / tau - math.log(den)))
        else:
            ex = [math.exp(x) for x in Wt[n]]; om = [e / sum(ex) for e in ex]
            num = math.exp(s[n, pos] / tau)
            lw.append(-math.log(num / (num + sum(om[k] * math.exp(s[n, k] / tau) for k in negs))))
    cells = [(n, k) for n in range(N) for k in range(N) if variant == 'official' or n != k]
    lo, hi = min(s[c].item() for c in cells), max(s[c].item() for c in cells)
    ld = sum(((s[c].item() - lo) / (hi - lo + 1e-6) - (1 - Wt[c[0]][c[1]])) ** 2 for c in cells) / len(cells)
    lw = sum(lw) / N
    return lw + ld if variant == 'paper' else (lw + ld) / 2


@settings(**SETTINGS)
@given(batches(), st.sampled_from(VARIANTS))
def test_vectorised_loss_equals_loop_reference(b, variant):
    z, risk, present = b
    torch.testing.assert_close(clef_loss(z, risk, present, variant).item(), loop_clef(z, risk, present, variant),
                               rtol=1e-6, atol=1e-6)


@settings(**SETTINGS)
@given(batches(), st.sampled_from(VARIANTS + ('simclr',)), st.integers(0, 10**6))
def test_permuting_patients_leaves_the_loss_unchanged(b, variant, seed):
    z, risk, present = b
    B = len(risk)
    perm = torch.randperm(B, generator=torch.Generator().manual_seed(seed))
    zp = torch.cat([z[:B][perm], z[B:][perm]])
    pp = None if present is None else present[perm]
    f = (lambda z, r, p: info_nce(z)) if variant == 'simclr' else (lambda z, r, p: clef_loss(z, r, p, variant))
    torch.testing.assert_close(f(zp, risk[perm], pp), f(z, risk, present), rtol=1e-9, atol=1e-9)


@settings(**SETTINGS)
@given(batches(nan=False), st.floats(0.01, 1.))
def test_equal_risks_make_paper_weights_uniform(b, alpha):
    z, risk, _ = b
    B = len(risk)
    same = torch.full_like(risk, float(risk[0]))
    W = clinical_prior(same, alpha=alpha)
    off = ~torch.eye(B, dtype=torch.bool)
    torch.testing.assert_close(W[off], torch.full((B * B - B,), alpha, dtype=W.dtype))
    # L^w reduces to InfoNCE with every negative's logit shifted by log α (SimCLR itself at α = 1)
    s = F.normalize(z, dim=1) @ F.normalize(z, dim=1).T / 0.07
    N = 2 * B; pos = torch.eye(N, dtype=torch.bool).roll(B, 1); neg = s.masked_fill(pos | torch.eye(N, dtype=torch.bool), -math.inf)
    expected = (torch.logaddexp(s[pos], math.log(alpha) + torch.logsumexp(neg, 1)) - s[pos]).mean()
    torch.testing.assert_close(weighted_nce(z, W), expected)
    torch.testing.assert_close(weighted_nce(z, clinical_prior(same, alpha=1.)), info_nce(z))
    # L^d's target is 1 − α for every negative pair and 1 for the two views of a patient
    torch.testing.assert_close(alignment_loss(z, W), alignment_loss(z, torch.full((B, B), alpha, dtype=z.dtype).fill_diagonal_(0)))


@settings(**SETTINGS)
@given(batches())
def test_missing_risks(b):
    z, risk, present = b
    risk = risk.clone(); risk[0] = float('nan')
    # official: NaN and ±inf are a risk of 0 %
    for bad in (float('nan'), float('inf'), -float('inf')):
        r = risk.clone(); r[0] = bad
        torch.testing.assert_close(clef_loss(z, r, present, 'official'), clef_loss(z, risk.nan_to_num(0.), present, 'official'))
    # paper: a pair with an unknown risk is a full-weight negative (times M)
    W = clinical_prior(risk, present)
    M = torch.ones_like(W) if present is None else torch.exp(-present[:, None] * present[None])
    torch.testing.assert_close(W[0, 1:], M[0, 1:])
    # paper, no known risk and no M: L^w is SimCLR's loss
    torch.testing.assert_close(weighted_nce(z, clinical_prior(torch.full_like(risk, float('nan')))), info_nce(z))
    for v in VARIANTS: assert clef_loss(z, risk, present, v).isfinite()


def test_present_missing_counts_as_nothing_known():
    risk = torch.tensor([1., 5., 9.])
    torch.testing.assert_close(clinical_prior(risk, torch.tensor([1., float('nan'), .5])),
                               clinical_prior(risk, torch.tensor([1., 0., .5])))


def _all_losses(z, risk):
    present = torch.linspace(0, 1, len(risk))
    return [info_nce(z), *(clef_loss(z, risk, p, v) for v in VARIANTS for p in (None, present))]


@settings(**SETTINGS)
@given(st.integers(2, 8), st.floats(-30, 30), st.booleans(), st.integers(0, 10**6))
def test_extreme_embeddings_give_finite_gradients(B, log_scale, zero_row, seed):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(2 * B, 8, generator=g) * 10 ** log_scale
    if zero_row: z[0] = 0.; z[B + 1] = z[1]
    risk = torch.rand(B, generator=g) * 30
    for loss in _all_losses(z.requires_grad_(), risk):
        gz, = torch.autograd.grad(loss, z)
        assert loss.isfinite() and gz.isfinite().all()


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_low_precision_embeddings_stay_finite(dtype):
    torch.manual_seed(0)
    z32, risk = torch.randn(64, 128), torch.rand(32) * 30
    z = z32.to(dtype).requires_grad_()
    for low, full in zip(_all_losses(z, risk), _all_losses(z.detach().float(), risk)):
        gz, = torch.autograd.grad(low, z)
        assert low.dtype == torch.float32 and low.isfinite() and gz.dtype == dtype and gz.isfinite().all()
        torch.testing.assert_close(low, full, rtol=1e-5, atol=1e-5)   # computed in float32 from the same values


def test_bad_inputs_are_refused():
    z = torch.randn(8, 4)
    with pytest.raises(ValueError, match='risk has 3 patients, z has 4'): clef_loss(z, torch.ones(3))
    with pytest.raises(ValueError, match="variant must be 'paper' or 'official'"): clef_loss(z, torch.ones(4), variant='x')
    with pytest.raises(ValueError, match='z must be'): info_nce(torch.randn(2, 4))
    with pytest.raises(ValueError, match=r'in \[0, 1\]'): clinical_prior(torch.ones(4), torch.full((4,), 2.))


TINY = Net1DConfig(base_filters=8, ratio=0.5, filter_list=(8, 16), m_blocks_list=(1, 1), groups_width=4)
METHODS = {'simclr': SimCLR, 'clef-paper': CLEF, 'clef-official': lambda e: CLEF(e, variant='official'),
           'simclr-head': lambda e: SimCLR(e, mlp(16, 16, 8)),
           'moco': lambda e: MoCo(e, K=16, m=0.9), 'byol': lambda e: BYOL(e, tau=0.99),
           'byol-cosine-projector': lambda e: BYOL(e, proj_dim=8, schedule='cosine', total_steps=30)}


def synthetic(b, seed, samples=256):
    g = torch.Generator().manual_seed(seed)
    f, ph = torch.rand(b, 2, 1, generator=g) * 12 + 1, torch.rand(b, 2, 1, generator=g) * 6.3
    base = torch.sin(f * torch.linspace(0, 6.3, samples) + ph).sum(1, keepdim=True)
    return base + 0.5 * torch.randn(base.shape, generator=g), base + 0.5 * torch.randn(base.shape, generator=g), f[:, 0, 0] * 2


@pytest.mark.parametrize('name', METHODS)
@pytest.mark.parametrize('seed', [1])   # the notebook runs seed 0
def test_a_few_sgd_steps_lower_each_loss(name, seed):
    torch.manual_seed(seed)
    method = METHODS[name](Net1D(TINY))
    opt = torch.optim.SGD([p for p in method.parameters() if p.requires_grad], lr=0.05, momentum=0.9)
    losses = []
    for i in range(30):
        x1, x2, risk = synthetic(8, seed * 100 + i % 5)
        loss = method(x1, x2, risk); opt.zero_grad(); loss.backward(); opt.step(); losses.append(loss.item())
    assert sum(losses[-5:]) < sum(losses[2:7])   # from step 2: MoCo's queue of 16 holds real keys
