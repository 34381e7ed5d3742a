"""Pretraining and embedding throughput: clef_nb's pipeline against the released CLEF loader's way of feeding the
same model, measured in the same run on the same machine, written to `benchmarks/results/` as JSON.

    python benchmarks/pretrain_throughput.py [--sizes small medium] [--steps 3] [--patients 200] [--threads 0]

Reference (what the released loader does, per view, in one process): `wfdb.rdrecord` of the patient's record,
the first 5000 samples of one lead (view 2 keeps view 1's lead with p = 0.8), NaNs interpolated, a 5th-order
Butterworth 0.67-40 Hz `scipy.signal.filtfilt`, then numpy augmentation (one of identity or a noise kind, a crop of
recorded noise scaled to 0.1 mV; a zero mask with p = 0.2) and a z-score; collated by a single-process
`DataLoader` that is cycled, so any `--steps` works. Its training step is forward, loss, backward and AdamW in
float32, as released.

clef_nb: the preprocessed cache read in a background thread ahead of the step (`clef_nb.train._prefetched`), both
views of the whole batch made with vectorised torch ops, and the engine's step (forward, backward, clipping,
AdamW), in bf16 autocast only where `clef_nb.train.use_bf16('auto', ...)` says so.

Both train CLEF with the same Net1D at the same batch (small: 64 patients, medium: 8, as the targets are stated).
Each step is timed in phases (data, forward, backward, optimizer). Then `clef_nb.embed` is timed on the cache,
and `clef_nb.encoder.layer_profile` gives the per-layer profile of the released and the clef_nb formulation at
full size. With a CUDA device the GPU section times medium and large training steps in bf16; without one it
says "not measured". It is a benchmark, run by hand; no test times anything.
"""
import argparse, os, tempfile, time
from pathlib import Path
import numpy as np, pandas as pd, torch, wfdb
from scipy import signal as ss
from torch.utils.data import DataLoader, Dataset
from clef_nb.cache import open_cache
from clef_nb.embedding import embed
from clef_nb.encoder import net1d, layer_profile, _SameConv1d
from clef_nb.signal import interp_nans
from clef_nb.ssl import CLEF
from clef_nb.train import PretrainData, prepare_synthetic, _prefetched, use_bf16, choose_threads
from clef_nb.views import NoiseBank, ViewConfig, make_views
from _record import machine, git_commit, write

ROOT = Path(__file__).resolve().parents[1]
TARGETS = dict(small=5.0, medium=2.0)         # clef_nb / reference, patients per second
EMBED_TARGET = dict(small=1500)                # ECG/s
BATCH = dict(small=64, medium=8)


class ReleasedLoader(Dataset):
    "One item = one patient: two views, each read from WFDB, filtered and augmented as the released loader does."
    def __init__(self, root, paths, risk, noise, seed=0):
        self.root, self.paths, self.risk, self.noise = Path(root), list(paths), np.asarray(risk, np.float32), noise
        self.b, self.a = ss.butter(5, [0.67, 40], 'bandpass', fs=500)
        self.rng = np.random.default_rng(seed)

    def __len__(self): return len(self.paths)

    def _view(self, i, lead):
        rec = wfdb.rdrecord(str(self.root/self.paths[i]), sampto=5000)
        x = ss.filtfilt(self.b, self.a, interp_nans(rec.p_signal[:5000, lead][None])[0])
        k = self.rng.integers(len(self.noise) + 1)                    # 0: identity, else a noise kind
        if k:
            n = self.noise[k - 1]; c = self.rng.integers(n.shape[0]); s = self.rng.integers(0, n.shape[1] - 5000)
            n = n[c, s:s + 5000]; x = x + (n - n.mean()) / (n.std() + 1e-8) * 0.1
        if self.rng.random() < 0.2:
            L = int(self.rng.uniform(0.1, 0.3) * 5000); s = self.rng.integers(0, 5000 - L); x = x.copy(); x[s:s + L] = 0
        return ((x - x.mean()) / (x.std() + 1e-8)).astype(np.float32)[None]

    def __getitem__(self, i):
        l1 = self.rng.integers(12); l2 = l1 if self.rng.random() < 0.8 else self.rng.integers(12)
        return self._view(i, l1), self._view(i, l2), self.risk[i]


def forever(loader):
    "Iterate `loader` again and again (a fresh pass each time, unlike `itertools.cycle`, which replays the first)."
    while True: yield from loader


def forward_gflop(size, samples=5000):
    "Forward GFLOP of one single-lead ECG through Net1D `size` (convolutions and SE linears, 2 FLOP per MAC)."
    enc, flop = net1d(size), []
    def conv(m, a, y): c = m.conv; flop.append(2 * y.shape[1] * y.shape[-1] * c.in_channels // c.groups * c.kernel_size[0])
    hooks = [m.register_forward_hook(conv) for m in enc.modules() if isinstance(m, _SameConv1d)]
    hooks += [m.register_forward_hook(lambda m, a, y: flop.append(2 * m.in_features * m.out_features)) for m in enc.modules() if isinstance(m, torch.nn.Linear)]
    with torch.no_grad(): enc(torch.zeros(1, 1, samples))
    return sum(flop) / 1e9


def timed_steps(method, opt, batches, steps, amp, dev, clip=0.0):
    "Run `steps` CLEF steps (after one warm-up) from the iterator `batches`; return patients/s and mean phase times (ms)."
    params = [p for p in method.parameters() if p.requires_grad]
    ph = dict(data=[], forward=[], backward=[], optimizer=[])
    for i in range(steps + 1):
        t0 = time.perf_counter(); v1, v2, r = next(batches); t1 = time.perf_counter()
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp): loss = method(v1, v2, r)
        if dev.type == 'cuda': torch.cuda.synchronize()
        t2 = time.perf_counter(); opt.zero_grad(set_to_none=True); loss.backward()
        if dev.type == 'cuda': torch.cuda.synchronize()
        t3 = time.perf_counter()
        if clip: torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        if dev.type == 'cuda': torch.cuda.synchronize()
        t4 = time.perf_counter()
        if i:
            for k, a, b in (('data', t0, t1), ('forward', t1, t2), ('backward', t2, t3), ('optimizer', t3, t4)): ph[k].append(b - a)
    ms = {k: round(1e3 * float(np.mean(v)), 1) for k, v in ph.items()}
    return len(v1) / (sum(ms.values()) / 1e3), ms


def gpu_section(data, bank, steps):
    "bf16 training steps of medium and large on the GPU, with model-FLOP utilisation against a stated peak."
    if not torch.cuda.is_available(): return 'not measured (no CUDA device on this machine)'
    dev, out = torch.device('cuda'), {}
    peak = float(os.environ.get('GPU_PEAK_BF16_TFLOPS', 0)) or None
    for size, batch in (('medium', 64), ('large', 32)):
        torch.manual_seed(0); method = CLEF(net1d(size)).to(dev); opt = torch.optim.AdamW(method.parameters(), lr=1e-4)
        g, b2 = torch.Generator(dev).manual_seed(0), bank.to(dev)
        def gen():
            for s in range(10**9):
                x1, _, risk, _ = data.batch(s, batch, 0)
                v1, v2, _, _ = make_views(x1.to(dev), b2, g, ViewConfig())
                yield v1, v2, risk.to(dev)
        rate, ms = timed_steps(method, opt, gen(), steps, True, dev)
        tflops = rate * 2 * 3 * forward_gflop(size) / 1e3
        out[size] = dict(batch=batch, patients_per_s=round(rate, 1), phases_ms=ms, model_tflop_per_s=round(tflops, 2),
                         mfu=round(tflops / peak, 3) if peak else 'peak not given (set GPU_PEAK_BF16_TFLOPS)')
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--sizes', nargs='+', default=['small', 'medium'])
    ap.add_argument('--steps', type=int, default=3, help='timed steps per pipeline and size (after one warm-up)')
    ap.add_argument('--patients', type=int, default=200, help='synthetic cohort size')
    ap.add_argument('--embed-n', type=int, default=512, help='ECGs embedded by the small encoder (medium: an eighth)')
    ap.add_argument('--threads', type=int, default=0, help='torch CPU threads; 0: as clef_nb.train chooses')
    ap.add_argument('--no-profile', action='store_true', help='skip the per-layer profile')
    ap.add_argument('--out', default=str(ROOT/'benchmarks'/'results'), help='folder for the JSON result')
    a = ap.parse_args()
    nt = choose_threads(a.threads)
    dev = torch.device('cpu'); amp = use_bf16('auto', dev)
    res = dict(benchmark='pretrain_throughput', created=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()), **git_commit(),
               machine=machine() | dict(threads=nt), settings=dict(steps=a.steps, patients=a.patients, clef_nb_precision='bf16' if amp else 'fp32'),
               synthetic_data=True, train={}, embed={}, layer_profile={})
    print(f"{res['machine']['cpu']}, {nt} threads, clef_nb in {res['settings']['clef_nb_precision']}\n")
    with tempfile.TemporaryDirectory() as d:
        cache_dir, meta_csv, _ = prepare_synthetic(Path(d), n_patients=a.patients, workers=2, progress=False)
        cache, meta = open_cache(cache_dir), pd.read_csv(meta_csv, dtype={'record_id': str, 'path': str})
        data, bank = PretrainData(cache, meta), NoiseBank.nstdb()
        noise_np = [bank.noise[k].numpy() for k in range(len(bank.kinds))]
        train = meta[(meta.split == 'train') & cache.index.ok.to_numpy()].drop_duplicates('patient_id')
        ref_ds = ReleasedLoader(Path(d)/'mimic-iv-ecg', train.path, train.score2_risk, noise_np)
        for size in a.sizes:
            B, gf, out = BATCH.get(size, 32), forward_gflop(size), {}
            for name in ('reference', 'clef_nb'):
                torch.manual_seed(0)
                method = CLEF(net1d(size)); opt = torch.optim.AdamW([p for p in method.parameters() if p.requires_grad], lr=1e-4, weight_decay=5e-4)
                if name == 'reference':
                    if len(ref_ds) < B: raise SystemExit(f'--patients {a.patients} gives {len(ref_ds)} training patients, fewer than a batch of {B}')
                    batches = forever(DataLoader(ref_ds, batch_size=B, shuffle=True, num_workers=0, drop_last=True))
                    rate, ms = timed_steps(method, opt, batches, a.steps, False, dev)
                else:
                    g = torch.Generator().manual_seed(0)
                    def gen():
                        for x1, _, risk, _ in _prefetched(lambda s: data.batch(s, B, 0), 0, 10**9, 2):
                            v1, v2, _, _ = make_views(x1, bank, g, ViewConfig())
                            yield v1, v2, risk
                    it = gen()
                    rate, ms = timed_steps(method, opt, it, a.steps, amp, dev, clip=1.0); it.close()
                out[name] = dict(patients_per_s=round(rate, 2), phases_ms=ms, model_gflop_per_s=round(rate * 2 * 3 * gf, 1))
                print(f'{size:6s} batch {B:3d} {name:9s} {rate:8.2f} patients/s  {ms}')
            ratio = out['clef_nb']['patients_per_s'] / out['reference']['patients_per_s']
            res['train'][size] = dict(batch=B, forward_gflop_per_ecg=round(gf, 4), **out, ratio=round(ratio, 2),
                                      target=TARGETS.get(size), target_met=ratio >= TARGETS[size] if size in TARGETS else None)
            print(f'{size:6s} clef_nb / reference = {ratio:.2f}x (target {TARGETS.get(size)}x)\n')
        for size in a.sizes:
            n = min(len(cache), a.embed_n if size == 'small' else max(16, a.embed_n // 8))
            enc, rows, prec = net1d(size), np.arange(n), 'bf16' if amp else 'fp32'   # bf16 only where the CPU has it natively
            embed(enc, cache, 'II', rows=rows[:16], progress=False, precision=prec)        # warm-up
            best = {}
            for bs in ((32, 64, 128) if size == 'small' else (8, 16, 32)):
                t0 = time.perf_counter(); embed(enc, cache, 'II', rows=rows, batch_size=bs, progress=False, precision=prec); dt = time.perf_counter() - t0
                best[bs] = round(n / dt, 1)
            bs = max(best, key=best.get)
            res['embed'][size] = dict(ecgs=n, precision=prec, ecg_per_s_by_batch=best, ecg_per_s=best[bs], batch_size=bs,
                                      model_gflop_per_s=round(best[bs] * forward_gflop(size), 1), target=EMBED_TARGET.get(size),
                                      target_met=best[bs] >= EMBED_TARGET[size] if size in EMBED_TARGET else None)
            print(f'embed {size:6s}: {best} ECG/s by batch size')
        if not a.no_profile:
            for size in a.sizes:
                torch.manual_seed(0)
                p = layer_profile(net1d(size), torch.randn(2 * BATCH.get(size, 32), 1, 5000), reps=1)
                res['layer_profile'][size] = dict(views=2 * BATCH.get(size, 32), ms=p.to_dict(orient='index'))
                print(f'\nper-layer profile, {size}, {2 * BATCH.get(size, 32)} views (ms):\n{p}')
        res['gpu'] = gpu_section(data, bank, a.steps)
    write(res, a.out)

if __name__ == '__main__': main()
