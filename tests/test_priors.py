"""Every prior-guided loss against a plain-loop implementation written from its equations (values and gradients, float64,
1e-6), on random inputs; the physiology prior's matrix is symmetric within its documented range; a feature missing for a
whole batch is a counted fallback or, when asked, a `PhysioPriorError`."""
import math

import numpy as np, pytest, torch

from clef_nb.losses import clef_loss
from clef_nb.priors import (PHYSIO, PhysioPriorError, check_physio, physio_loss, physio_prior, prior_loss, score2_prior)

SEEDS = range(5)


@pytest.fixture(autouse=True)
def float64():
    "Compute in float64 here, and leave the default dtype as it was for other test files."
    old = torch.get_default_dtype(); torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def rand_physio(B, g, p_nan=0.3):
    "Random standardised features with a rhythm class in {0, 1, 2} and NaN holes."
    f = torch.randn(B, len(PHYSIO), generator=g)
    f[:, -1] = torch.randint(0, 3, (B,), generator=g).double()
    f[torch.rand(B, len(PHYSIO), generator=g) < p_nan] = float('nan')
    return f


def loop_physio_prior(f, alpha=0.2, use_present=True):
    "W from the documented equations, one pair and one feature at a time."
    B, K = f.shape
    W = torch.zeros(B, B)
    for i in range(B):
        for j in range(B):
            if i == j: continue
            sims = []
            for k in range(K):
                a, b = f[i, k].item(), f[j, k].item()
                if math.isnan(a) or math.isnan(b): continue
                sims.append(float(a == b) if k == K - 1 else math.exp(-(a - b) ** 2 / 2))
            D = (1 - alpha) * (1 - sum(sims) / len(sims)) + alpha if sims else 1.
            if use_present:
                pi = sum(not math.isnan(v) for v in f[i].tolist()) / K
                pj = sum(not math.isnan(v) for v in f[j].tolist()) / K
                D *= math.exp(-pi * pj)
            W[i, j] = D
    return W


def loop_prior_loss(z, W, tau=0.07, lam=1.):
    "Paper variant: L^w + λ L^d, row by row (L^w) and entry by entry (L^d)."
    n = len(z); B = n // 2
    u = [z[i] / z[i].norm() for i in range(n)]
    s = [[u[i] @ u[k] for k in range(n)] for i in range(n)]
    lw = []
    for i in range(n):
        p = (i + B) % n
        terms = [s[i][p] / tau] + [torch.log(W[i % B, k % B]) + s[i][k] / tau for k in range(n) if k not in (i, p) and W[i % B, k % B] > 0]
        lw.append(torch.logsumexp(torch.stack(terms), 0) - s[i][p] / tau)
    off = [(i, k) for i in range(n) for k in range(n) if i != k]
    vals = torch.stack([s[i][k] for i, k in off]); lo, hi = vals.min(), vals.max()
    ld = torch.stack([((s[i][k] - lo) / (hi - lo + 1e-6) - (1 - W[i % B, k % B])) ** 2 for i, k in off]).mean()
    return torch.stack(lw).mean() + lam * ld


def value_and_grad(fn, z):
    z = z.clone().requires_grad_(True)
    v = fn(z); v.backward()
    return v.detach(), z.grad


@pytest.mark.parametrize('seed', SEEDS)
def test_physio_prior_matches_loop(seed):
    g = torch.Generator().manual_seed(seed)
    f = rand_physio(7, g)
    for use_present in (True, False):
        torch.testing.assert_close(physio_prior(f, 0.3, use_present), loop_physio_prior(f, 0.3, use_present), rtol=0, atol=1e-12)


@pytest.mark.parametrize('seed', SEEDS)
def test_physio_loss_matches_loop(seed):
    g = torch.Generator().manual_seed(seed)
    f, z = rand_physio(5, g), torch.randn(10, 8, generator=g)
    v, gr = value_and_grad(lambda z: physio_loss(z, f, tau=0.1, lam=0.5), z)
    v0, g0 = value_and_grad(lambda z: loop_prior_loss(z, loop_physio_prior(f), tau=0.1, lam=0.5), z)
    torch.testing.assert_close(v, v0, rtol=0, atol=1e-6); torch.testing.assert_close(gr, g0, rtol=0, atol=1e-6)


@pytest.mark.parametrize('seed', SEEDS)
def test_score2_prior_loss_is_clef_and_matches_loop(seed):
    g = torch.Generator().manual_seed(seed)
    risk, z = torch.rand(6, generator=g) * 20, torch.randn(12, 8, generator=g)
    risk[seed % 6] = float('nan')
    for v in ('paper', 'official'):
        assert torch.equal(prior_loss(z, score2_prior(risk, variant=v), v), clef_loss(z, risk, variant=v))
    v, gr = value_and_grad(lambda z: prior_loss(z, score2_prior(risk)), z)
    v0, g0 = value_and_grad(lambda z: loop_prior_loss(z, score2_prior(risk)), z)
    torch.testing.assert_close(v, v0, rtol=0, atol=1e-6); torch.testing.assert_close(gr, g0, rtol=0, atol=1e-6)


@pytest.mark.parametrize('seed', SEEDS)
def test_physio_matrix_symmetric_in_documented_range(seed):
    g = torch.Generator().manual_seed(seed)
    f = rand_physio(16, g, p_nan=0.5)
    alpha = 0.2
    for use_present, lo in ((False, alpha), (True, alpha * math.exp(-1))):
        W = physio_prior(f, alpha, use_present)
        torch.testing.assert_close(W, W.T, rtol=0, atol=0)
        assert (W.diag() == 0).all()
        off = W[~torch.eye(16, dtype=torch.bool)]
        assert (off >= lo - 1e-12).all() and (off <= 1).all()


def test_feature_missing_for_whole_batch():
    g = torch.Generator().manual_seed(0)
    f = rand_physio(6, g, p_nan=0.)
    f[:, 1] = float('nan')                                           # no P wave anywhere (an all-AF batch)
    assert check_physio(f) == ['pr']
    kept = physio_prior(f, use_present=False)
    torch.testing.assert_close(kept, loop_physio_prior(f, use_present=False), rtol=0, atol=1e-12)   # pr drops out of every pair's mean
    none = torch.full((6, len(PHYSIO)), float('nan'))
    assert check_physio(none) == list(PHYSIO)
    torch.testing.assert_close(physio_prior(none, use_present=False), 1 - torch.eye(6))
    with pytest.raises(PhysioPriorError, match='every physiological feature is missing'): check_physio(none, 'raise')


# --- ECG–report losses ---------------------------------------------------------------------------------------------
from clef_nb.prior_ssl import clip_loss, fgclep_loss
from clef_nb.text import report_similarity


def loop_clip(e, t, scale, valid):
    "Symmetric InfoNCE, one row and one column at a time, over the valid pairs."
    idx = [i for i in range(len(e)) if valid[i]]
    u = {i: e[i] / e[i].norm() for i in idx}; v = {j: t[j] / t[j].norm() for j in idx}
    rows = [-(scale * u[i] @ v[i] - torch.logsumexp(torch.stack([scale * u[i] @ v[j] for j in idx]), 0)) for i in idx]
    cols = [-(scale * u[j] @ v[j] - torch.logsumexp(torch.stack([scale * u[i] @ v[j] for i in idx]), 0)) for j in idx]
    return (torch.stack(rows).mean() + torch.stack(cols).mean()) / 2


def loop_fgclep(e, t, R, scale, bias, valid, min_sim=0.):
    "Sigmoid loss over every valid pair, targets 1 on the diagonal and R (0 below min_sim) elsewhere."
    idx = [i for i in range(len(e)) if valid[i]]
    total = 0.
    for i in idx:
        for j in idx:
            l = scale * (e[i] / e[i].norm()) @ (t[j] / t[j].norm()) + bias
            y = 1. if i == j else (R[i, j].item() if R[i, j] >= min_sim else 0.)
            total = total - (y * torch.log(torch.sigmoid(l)) + (1 - y) * torch.log(torch.sigmoid(-l)))
    return total / len(idx)


@pytest.mark.parametrize('seed', SEEDS)
def test_clip_loss_matches_loop(seed):
    g = torch.Generator().manual_seed(seed)
    e, t = torch.randn(7, 5, generator=g), torch.randn(7, 5, generator=g)
    valid = torch.rand(7, generator=g) > 0.2; valid[:2] = True
    scale = torch.tensor(3. + seed)
    for vmask in (None, valid):
        vm = torch.ones(7, dtype=torch.bool) if vmask is None else vmask
        (v, ge), (v0, ge0) = [value_and_grad(lambda e: f(e, t, scale, vm if f is loop_clip else vmask), e) for f in (clip_loss, loop_clip)]
        torch.testing.assert_close(v, v0, rtol=0, atol=1e-6); torch.testing.assert_close(ge, ge0, rtol=0, atol=1e-6)
        (_, gt), (_, gt0) = [value_and_grad(lambda t: f(e, t, scale, vm if f is loop_clip else vmask), t) for f in (clip_loss, loop_clip)]
        torch.testing.assert_close(gt, gt0, rtol=0, atol=1e-6)


@pytest.mark.parametrize('seed', SEEDS)
def test_fgclep_loss_matches_loop(seed):
    g = torch.Generator().manual_seed(seed)
    e, t = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    ids = torch.randint(0, 9, (6, 4), generator=g); ids[:, 0] = torch.randint(1, 9, (6,), generator=g); ids[5] = 0   # row 5: no report
    R = report_similarity(ids, torch.rand(9, generator=g) + 0.5).double()
    valid = ids[:, 0] != 0
    scale, bias = torch.tensor(5.), torch.tensor(-2.)
    for min_sim in (0., 0.3):
        (v, ge), (v0, ge0) = [value_and_grad(lambda e: f(e, t, R, scale, bias, valid, min_sim), e) for f in (fgclep_loss, loop_fgclep)]
        torch.testing.assert_close(v, v0, rtol=0, atol=1e-6); torch.testing.assert_close(ge, ge0, rtol=0, atol=1e-6)
        (_, gt), (_, gt0) = [value_and_grad(lambda t: f(e, t, R, scale, bias, valid, min_sim), t) for f in (fgclep_loss, loop_fgclep)]
        torch.testing.assert_close(gt, gt0, rtol=0, atol=1e-6)


def test_report_similarity_symmetric_in_unit_range():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 30, (10, 8), generator=g); ids[3] = 0
    R = report_similarity(ids, torch.rand(30, generator=g) + 0.5)
    torch.testing.assert_close(R, R.T)
    assert (R >= 0).all() and (R <= 1 + 1e-6).all() and (R[3] == 0).all()
    ok = torch.arange(10) != 3
    torch.testing.assert_close(R.diag()[ok], torch.ones(9, dtype=R.dtype))
