"""Two `gloo` processes on CPU, each with part of a batch under DistributedDataParallel, give the same loss and
the same parameter gradients as one process on the whole batch; MoCo's queues stay identical."""
import time

import pytest, torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel as DDP

from clef_nb.encoder import Net1D, Net1DConfig
from clef_nb.losses import gather_rows, gather_views
from clef_nb.ssl import CLEF, MoCo, SimCLR

pytestmark = pytest.mark.skipif(not dist.is_available(), reason='torch.distributed is not available')

TINY = Net1DConfig(base_filters=8, ratio=0.5, filter_list=(8, 16), m_blocks_list=(1, 1), groups_width=4)
SPLIT = [(0, 3), (3, 5)]   # unequal shares: rank 0 has 3 patients, rank 1 has 2 (a partial last batch)
CASES = {'simclr': lambda e: SimCLR(e), 'clef-paper': lambda e: CLEF(e),
         'clef-official': lambda e: CLEF(e, variant='official')}


def data():
    "Two views of 5 patients, their risks (one unknown) and metadata completeness, in float64."
    g = torch.Generator().manual_seed(0)
    x1, x2 = torch.randn(5, 1, 200, generator=g, dtype=torch.float64), torch.randn(5, 1, 200, generator=g, dtype=torch.float64)
    return x1, x2, torch.tensor([3., 12., float('nan'), 7., 25.], dtype=torch.float64), torch.tensor([1., .5, 0., .8, 1.], dtype=torch.float64)


def run(make, x1, x2, risk, present, ddp=False):
    "Loss and parameter gradients of one step of `make(encoder)`, from the same initial weights everywhere."
    torch.manual_seed(0)
    method = make(Net1D(TINY).double())
    model = DDP(method) if ddp else method     # keep the DDP wrapper alive through backward: it owns the reducer
    loss = model(x1, x2, risk, present)
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in method.named_parameters() if p.grad is not None}


def worker(rank, world, init, out):
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=init, rank=rank, world_size=world)
    try:
        x1, x2, risk, present = data()
        lo, hi = SPLIT[rank]
        res = {n: run(f, x1[lo:hi], x2[lo:hi], risk[lo:hi], present[lo:hi], ddp=True) for n, f in CASES.items()}
        res['rows'] = gather_rows(torch.full((rank + 1, 2), float(rank)))
        z = torch.arange(2 * (hi - lo) * 3, dtype=torch.float64).view(-1, 3) + 100 * rank
        res['views'] = gather_views(z, risk[lo:hi], None)
        torch.manual_seed(0)
        moco = MoCo(Net1D(TINY).double(), K=8)
        wrapped = DDP(moco)
        wrapped(x1[lo:hi], x2[lo:hi]).backward()
        res['queue'], res['ptr'] = moco.queue.clone(), moco.queue_ptr.clone()
        torch.save(res, f'{out}/rank{rank}.pt')
    finally:
        dist.destroy_process_group()


def spawn(tmp_path, world=2, timeout=120):
    ctx = mp.spawn(worker, args=(world, f'file://{tmp_path}/store', str(tmp_path)), nprocs=world, join=False)
    deadline = time.time() + timeout
    while not ctx.join(timeout=1):
        if time.time() > deadline:
            for p in ctx.processes: p.kill()
            pytest.fail(f'distributed workers did not finish within {timeout} s')
    return [torch.load(tmp_path / f'rank{r}.pt', weights_only=True) for r in range(world)]


@pytest.fixture(scope='module')
def ranks(tmp_path_factory):
    return spawn(tmp_path_factory.mktemp('ddp'))


@pytest.mark.parametrize('name', CASES)
def test_loss_and_gradients_equal_single_process(ranks, name):
    loss, grads = run(CASES[name], *data())
    for r in ranks:
        got_loss, got_grads = r[name]
        torch.testing.assert_close(got_loss, loss, rtol=0, atol=1e-9)
        assert got_grads.keys() == grads.keys()
        for k in grads: torch.testing.assert_close(got_grads[k], grads[k], rtol=0, atol=1e-6, msg=k)


def test_gather_keeps_rank_order_and_view_layout(ranks):
    x1, x2, risk, present = data()
    for r in ranks:
        torch.testing.assert_close(r['rows'], torch.tensor([[0., 0.], [1., 1.], [1., 1.]]))
        z, rg, pg = r['views']
        z0, z1 = torch.arange(18.).view(6, 3).double(), torch.arange(12.).view(4, 3).double() + 100
        torch.testing.assert_close(z, torch.cat([z0[:3], z1[:2], z0[3:], z1[2:]]))   # [all first views; all second views]
        torch.testing.assert_close(rg, risk, equal_nan=True)
        assert pg is None


def test_moco_enqueues_every_key_once_and_queues_agree(ranks):
    x1, x2, *_ = data()
    torch.manual_seed(0)
    moco = MoCo(Net1D(TINY).double(), K=8)
    moco(x1, x2)
    for r in ranks:
        assert int(r['ptr']) == 5
        torch.testing.assert_close(r['queue'], moco.queue, rtol=0, atol=1e-6)
