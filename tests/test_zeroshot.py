"""Zero-shot end to end on a synthetic task whose label is written in the report: a CLIP-style model pretrained for a
few steps on the training patients' ECGs and machine reports scores the test patients' sinus bradycardia (the report
says "Sinus bradycardia" exactly when the simulated rhythm is sinus under 60 bpm) above chance, with its
patient-bootstrap interval above 0.5. SYNTHETIC data; the number is a mechanism check, not clinical evidence."""
import numpy as np, pandas as pd, pytest, torch

from clef_nb.cache import CacheSpec, build_cache, open_cache
from clef_nb.encoder import Net1D, Net1DConfig
from clef_nb.probe import task_data
from clef_nb.prior_ssl import ReportCLIP, SideData, join_measurements
from clef_nb.priors import physio_augment
from clef_nb.synth import make_cohort
from clef_nb.tasks import Task
from clef_nb.zeroshot import ZeroShotError, prompt_ids, zeroshot_rows, zeroshot_run

SMALL = Net1DConfig(base_filters=8, ratio=1., filter_list=(16, 32), m_blocks_list=(1, 1), groups_width=8)
DECIMATE = 5   # 500 Hz → 100 Hz keeps the heart rate and makes the few training steps cheap on shared cores
TASK = Task('synth_brady', 'synthetic', 'binary', ('BRADY',), 'brady', 'auroc', '', 'patients 65/35', ('II',))
PROMPTS = {'BRADY': ('sinus bradycardia', 'sinus rhythm')}


def inputs(x):
    "Decimate (the cache is band-limited to 40 Hz) and z-score each record."
    x = x[..., ::DECIMATE]
    return torch.from_numpy(np.nan_to_num((x - x.mean(-1, keepdims=True)) / (x.std(-1, keepdims=True) + 1e-6)).astype(np.float32))


@pytest.fixture(scope='module')
def cohort(tmp_path_factory):
    "A synthetic cohort with its machine reports, a lead-II cache, a patient split and the bradycardia label."
    d = tmp_path_factory.mktemp('zs')
    c = make_cohort(d/'rec', 200, seed=3, max_ecgs=2)
    e = c.ecgs
    u = np.random.default_rng(0).random(200)[e.pid.to_numpy()]
    idx = pd.DataFrame(dict(record_id=e.study_id.astype(str), patient_id=e.subject_id.astype(str), path=e.path,
                            split=np.where(u < .65, 'train', 'test'), age=e.age.round(1), sex=np.where(e.male > 0, 'M', 'F'),
                            brady=((e.af == 0) & (60000 / e.rr_interval < 60)).astype(int)))
    build_cache(idx, c.root, d/'cache', CacheSpec(leads=('II',)), workers=0, progress=False)
    return open_cache(d/'cache'), idx, pd.read_csv(c.root/'machine_measurements.csv')


def pretrain_clip(cache, idx, mm, steps=40, batch=32, seed=0):
    "Pretrain the CLIP-style method on the training rows' ECGs and reports."
    meta, counts = join_measurements(idx, mm)
    assert counts['no_measurements'] == 0
    side = SideData(meta)
    train = np.flatnonzero((idx.split == 'train').to_numpy() & cache.index.ok.to_numpy())
    x = inputs(cache.read(train, ('II',)))
    torch.manual_seed(seed); g = torch.Generator().manual_seed(seed)
    model = ReportCLIP(Net1D(SMALL), side.vocab, 'clip')
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for s in range(steps):
        b = torch.randint(len(train), (batch,), generator=g)
        v1, v2 = physio_augment(x[b], g, fs=500 / DECIMATE), physio_augment(x[b], g, fs=500 / DECIMATE)
        loss = model(v1, v2, report=side.rows(train[b.numpy()])['report'])
        opt.zero_grad(); loss.backward(); opt.step(); losses.append(loss.item())
    return model, side, losses


def test_zeroshot_scores_a_reported_label_above_chance(cohort):
    cache, idx, mm = cohort
    torch.set_num_threads(2)
    model, side, losses = pretrain_clip(cache, idx, mm)
    assert np.mean(losses[-10:]) < np.mean(losses[:10])
    td = task_data(TASK, cache, synthetic=True)
    test = td.part('test')
    assert 5 <= td.y[test].sum() < len(test) - 5
    run = zeroshot_run(model, side.vocab, td, inputs(cache.read(td.rows[test], ('II',))), 'clip-synthetic', PROMPTS)
    rows = zeroshot_rows(run, td, 'II', key='test', n_boot=500)
    auroc = next(r for r in rows if r['metric'] == 'auroc')
    print(f"SYNTHETIC zero-shot sinus bradycardia AUROC {auroc['value']:.3f} [{auroc['ci_low']:.3f}, {auroc['ci_high']:.3f}], "
          f"{auroc['n_test_patients']} patients, {auroc['n_test_ecgs']} ECGs")
    assert auroc['protocol'] == 'zeroshot' and auroc['synthetic'] and auroc['label_fraction'] == 0
    assert auroc['ci_low'] > 0.5


def test_prompts_the_vocabulary_cannot_read_are_refused(cohort):
    cache, idx, mm = cohort
    side = SideData(join_measurements(idx, mm)[0])
    with pytest.raises(ZeroShotError, match='knows no word'): prompt_ids(side.vocab, TASK, {'BRADY': ('zzz', 'sinus rhythm')})
