"The prior-guided methods run through the pretraining engine: side data joined from the cohort's machine measurements, a few steps, a resumable checkpoint."
from pathlib import Path
import json
import pandas as pd, pytest, torch
from clef_nb.prior_ssl import PRIOR_METHODS
from clef_nb.train import PretrainConfig, pretrain, prepare_synthetic


@pytest.fixture(scope='module')
def cohort(tmp_path_factory):
    work = tmp_path_factory.mktemp('priors')
    cache, meta, _ = prepare_synthetic(work, n_patients=40, seed=0, workers=1, progress=False)
    return work, cache, meta


@pytest.mark.parametrize('method', PRIOR_METHODS)
def test_prior_method_trains_and_writes_its_side_data(cohort, tmp_path, method):
    work, cache, meta = cohort
    cfg = PretrainConfig(cache=str(cache), meta=str(meta), out_dir=str(tmp_path/'run'), method=method, steps=2, batch_size=8,
                         measurements=str(work/'mimic-iv-ecg'/'machine_measurements.csv'), device='cpu', progress=False, seed=0)
    res = pretrain(cfg)
    losses = [json.loads(l)['loss'] for l in Path(res['metrics']).read_text().splitlines()]
    assert losses and all(torch.isfinite(torch.tensor(losses))), losses
    card = json.loads(Path(res['card']).read_text())
    assert card['method'] == method and card['pretraining']['steps'] == 2
    assert (tmp_path/'run'/'physio_stats.json').is_file() and (tmp_path/'run'/'vocab.json').is_file()


def test_prior_method_without_measurements_names_the_parameter(cohort, tmp_path):
    work, cache, meta = cohort
    cfg = PretrainConfig(cache=str(cache), meta=str(meta), out_dir=str(tmp_path/'run'), method='clip', steps=1, batch_size=8,
                         device='cpu', progress=False)
    with pytest.raises(FileNotFoundError, match='measurements='): pretrain(cfg)
