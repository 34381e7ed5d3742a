"""Two `gloo` processes, each with part of a batch under DistributedDataParallel, give the same loss and parameter
gradients as one process on the whole batch, for every prior-guided method: the pairwise matrices (physiology prior,
report similarity) and the ECG–report losses see the gathered global batch."""
import time

import pytest, torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel as DDP

from clef_nb.encoder import Net1D, Net1DConfig
from clef_nb.prior_ssl import PRIOR_METHODS, build_prior_method
from clef_nb.text import Vocab, encode

pytestmark = pytest.mark.skipif(not dist.is_available(), reason='torch.distributed is not available')

TINY = Net1DConfig(base_filters=8, ratio=0.5, filter_list=(8, 16), m_blocks_list=(1, 1), groups_width=4)
SPLIT = [(0, 3), (3, 5)]   # unequal shares: a partial last batch
REPORTS = ['sinus rhythm; normal ecg', 'atrial fibrillation; abnormal ecg', '', 'sinus rhythm; normal ecg', 'sinus bradycardia; left axis deviation']


class Side:
    vocab = Vocab.build(REPORTS)


def data():
    "Two views of 5 patients, risks, completeness, physiology (with holes) and report ids (one empty), in float64."
    g = torch.Generator().manual_seed(0)
    x1, x2 = (torch.randn(5, 1, 200, generator=g, dtype=torch.float64) for _ in range(2))
    risk = torch.tensor([3., 12., float('nan'), 7., 25.], dtype=torch.float64)
    present = torch.tensor([1., .5, 0., .8, 1.], dtype=torch.float64)
    physio = torch.randn(5, 6, generator=g, dtype=torch.float64); physio[:, 5] = torch.tensor([0., 1., 0., 2., 0.])
    physio[1, 1] = physio[2, :4] = float('nan')
    return x1, x2, risk, present, dict(physio=physio, report=encode(Side.vocab, REPORTS, 12))


def run(name, x1, x2, risk, present, side, ddp=False):
    torch.manual_seed(0)
    method = build_prior_method(name, Net1D(TINY), Side).double()
    model = DDP(method) if ddp else method
    loss = model(x1, x2, risk, present, **side)
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in method.named_parameters() if p.grad is not None}


def worker(rank, world, init, out):
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=init, rank=rank, world_size=world)
    try:
        x1, x2, risk, present, side = data()
        lo, hi = SPLIT[rank]
        res = {n: run(n, x1[lo:hi], x2[lo:hi], risk[lo:hi], present[lo:hi], {k: v[lo:hi] for k, v in side.items()}, ddp=True)
               for n in PRIOR_METHODS}
        torch.save(res, f'{out}/rank{rank}.pt')
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope='module')
def ranks(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('ddp'); world = 2
    ctx = mp.spawn(worker, args=(world, f'file://{tmp}/store', str(tmp)), nprocs=world, join=False)
    deadline = time.time() + 180
    while not ctx.join(timeout=1):
        if time.time() > deadline:
            for p in ctx.processes: p.kill()
            pytest.fail('distributed workers did not finish within 180 s')
    return [torch.load(tmp/f'rank{r}.pt', weights_only=True) for r in range(world)]


@pytest.mark.parametrize('name', PRIOR_METHODS)
def test_gathered_loss_and_gradients_equal_single_process(ranks, name):
    loss, grads = run(name, *data())
    for r in ranks:
        got_loss, got_grads = r[name]
        torch.testing.assert_close(got_loss, loss, rtol=0, atol=1e-9)
        assert got_grads.keys() == grads.keys()
        for k in grads: torch.testing.assert_close(got_grads[k], grads[k], rtol=0, atol=1e-6, msg=k)
