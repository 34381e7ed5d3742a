"""Pretraining and embedding throughput: clef_nb's pipeline against one built the way the official CLEF code feeds
its model, with the same model, batch and machine, measured in the same run.

    python benchmarks/pretrain_throughput.py [--sizes small medium] [--batch 32] [--steps 5] [--patients 200]

Reference pipeline (per step, in one process, as the released code does): for each patient a `wfdb.rdrecord` of
its 12-lead record, one lead picked, NaNs interpolated, a 5th-order Butterworth 0.67–40 Hz `scipy.signal.filtfilt`,
then per view numpy noise (a random crop of recorded noise scaled to 0.1 mV), a random zero mask and a z-score,
collated by a single-process `DataLoader`. clef_nb's pipeline reads the preprocessed cache (one fancy index) and
makes both views of the whole batch with vectorised torch ops. Both then run the identical CLEF step (Net1D,
forward, backward, AdamW). Prints the data path's speed alone, then patients/s of whole steps, the ratio and the achieved GFLOP/s (forward cost per 10 s
single-lead ECG: small 0.058, medium 2.28 GFLOP; a training step costs about 3x forward), and the embedding
throughput of `clef_nb.embed`. Run it by hand; it is not a timed test.
"""
import argparse, tempfile, time
from pathlib import Path
import numpy as np, pandas as pd, torch, wfdb
from scipy import signal as ss
from torch.utils.data import DataLoader, Dataset
from clef_nb.cache import open_cache
from clef_nb.embedding import embed
from clef_nb.encoder import net1d
from clef_nb.io import read_ecg
from clef_nb.signal import interp_nans, resample
from clef_nb.ssl import CLEF
from clef_nb.train import PretrainData, prepare_synthetic
from clef_nb.views import NoiseBank, ViewConfig, make_views

GFLOP = dict(small=0.058, medium=2.28, large=None)


class OfficialStyle(Dataset):
    "Per-item WFDB read, filtfilt and numpy augmentation, as the released CLEF data loader does."
    def __init__(self, root, paths, risk, noise, seed=0):
        self.root, self.paths, self.risk, self.noise = Path(root), list(paths), np.asarray(risk, np.float32), noise
        self.b, self.a = ss.butter(5, [0.67, 40], 'bandpass', fs=500)
        self.rng = np.random.default_rng(seed)

    def __len__(self): return len(self.paths)

    def _view(self, x):
        if self.rng.random() < 0.8:                                   # identity or one of the noise kinds
            k, c = self.rng.integers(len(self.noise)), self.rng.integers(self.noise[0].shape[0])
            s = self.rng.integers(0, self.noise[k].shape[1] - 5001)
            n = self.noise[k][c, s:s + 5000]; x = x + (n - n.mean()) / (n.std() + 1e-8) * 0.1
        if self.rng.random() < 0.2:
            L = int(self.rng.uniform(0.1, 0.3) * 5000); s = self.rng.integers(0, 5000 - L); x = x.copy(); x[s:s + L] = 0
        return ((x - x.mean()) / (x.std() + 1e-8)).astype(np.float32)

    def __getitem__(self, i):
        rec = wfdb.rdrecord(str(self.root/self.paths[i]))
        lead = self.rng.integers(12)
        x = interp_nans(rec.p_signal[:5000, lead][None])[0]
        x = ss.filtfilt(self.b, self.a, x)
        return self._view(x)[None], self._view(x)[None], self.risk[i]


def _time(f):
    "Wall time of one call of `f`."
    t0 = time.perf_counter(); f(); return time.perf_counter() - t0


def time_steps(method, opt, batches, steps):
    "Seconds per step of `steps` CLEF steps fed by the iterator `batches` (after one warm-up step)."
    def one():
        v1, v2, r = next(batches)
        loss = method(v1, v2, r); opt.zero_grad(); loss.backward(); opt.step()
    one()
    t0 = time.perf_counter()
    for _ in range(steps): one()
    return (time.perf_counter() - t0) / steps


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--sizes', nargs='+', default=['small', 'medium'])
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--steps', type=int, default=5)
    ap.add_argument('--patients', type=int, default=200)
    a = ap.parse_args()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as d:
        cache_dir, meta_csv, _ = prepare_synthetic(Path(d), n_patients=a.patients, workers=2, progress=False)
        cache, meta = open_cache(cache_dir), pd.read_csv(meta_csv, dtype={'record_id': str, 'path': str})
        data = PretrainData(cache, meta)
        bank = NoiseBank.nstdb()
        noise_np = [bank.noise[k].numpy() for k in range(len(bank.kinds))]
        train = meta[(meta.split == 'train') & cache.index.ok.to_numpy()]
        ref_ds = OfficialStyle(Path(d)/'mimic-iv-ecg', train.path, train.score2_risk, noise_np)
        print(f'{len(train)} training records, batch {a.batch} patients (2 views each), {torch.get_num_threads()} threads\n')
        ref_it = iter(DataLoader(ref_ds, batch_size=a.batch, shuffle=True, num_workers=0, drop_last=True))
        g = torch.Generator().manual_seed(0)
        t_ref = min(_time(lambda: next(ref_it)) for _ in range(3))
        t_ours = min(_time(lambda s=s: make_views(data.batch(s, a.batch, 0)[0], bank, g, ViewConfig())) for s in range(3))
        print(f'data path only (read, filter, augment one batch of {a.batch}): official-style {a.batch / t_ref:7.0f} patients/s, '
              f'clef_nb {a.batch / t_ours:7.0f} patients/s = {t_ref / t_ours:.1f}x\n')
        for size in a.sizes:
            res = {}
            for name in ('official-style', 'clef_nb'):
                torch.manual_seed(0)
                method = CLEF(net1d(size)); opt = torch.optim.AdamW(method.parameters(), lr=1e-4)
                if name == 'official-style':
                    batches = iter(DataLoader(ref_ds, batch_size=a.batch, shuffle=True, num_workers=0, drop_last=True))
                else:
                    g = torch.Generator().manual_seed(0)
                    def gen():
                        for step in range(10**9):
                            x1, _, risk, _ = data.batch(step, a.batch, 0)
                            v1, v2, _, _ = make_views(x1, bank, g, ViewConfig())
                            yield v1, v2, risk
                    batches = gen()
                res[name] = a.batch / time_steps(method, opt, batches, a.steps)
            ratio = res['clef_nb'] / res['official-style']
            gf = GFLOP[size]
            for name, r in res.items():
                extra = f'   {r * 2 * 3 * gf:6.1f} GFLOP/s' if gf else ''
                print(f'{size:6s} {name:15s} {r:8.1f} patients/s{extra}')
            print(f'{size:6s} clef_nb / official-style = {ratio:.1f}x\n')
        n = len(cache)
        for prec in ('fp32', 'bf16'):
            embed(net1d('small'), cache, 'II', rows=np.arange(64), progress=False, precision=prec)   # warm-up
            t0 = time.perf_counter(); embed(net1d('small'), cache, 'II', batch_size=256, progress=False, precision=prec); dt = time.perf_counter() - t0
            print(f'embedding, small, {prec}, {n} cached ECGs: {n / dt:.0f} ECG/s ({n / dt * GFLOP["small"]:.1f} GFLOP/s)')


if __name__ == '__main__': main()
