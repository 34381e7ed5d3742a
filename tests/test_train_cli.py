"`clef-pretrain --help` documents every PretrainConfig field with the field's own documentation; options parse back into the config."
import configparser, json, subprocess, sys
from dataclasses import asdict, fields
from pathlib import Path
import pytest
from fastcore.docments import docments
from clef_nb.train import PretrainConfig, _parse

ROOT = Path(__file__).resolve().parents[1]
_flat = lambda s: ' '.join(s.split())  # argparse re-wraps the help text


@pytest.fixture(scope='module')
def help_text():
    r = subprocess.run([sys.executable, '-m', 'clef_nb.train', '--help'], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return _flat(r.stdout)


def test_help_documents_every_field(help_text):
    doc = docments(PretrainConfig)
    missing = [f.name for f in fields(PretrainConfig) if f'--{f.name} ' not in help_text]
    assert not missing, missing
    undocumented = [f.name for f in fields(PretrainConfig) if not doc[f.name] or _flat(f'{doc[f.name]} (default: {f.default!r})') not in help_text]
    assert not undocumented, undocumented
    assert 'usage: clef-pretrain' in help_text and '--config JSON' in help_text


def test_console_script_is_this_entry_point():
    cfg = configparser.ConfigParser(); cfg.read(ROOT/'settings.ini')
    assert 'clef-pretrain=clef_nb.train:main' in cfg['DEFAULT']['console_scripts'].split()


def _argv(cfg): return [x for k, v in asdict(cfg).items() for x in (f'--{k}', str(v))]


def test_every_field_round_trips():
    "Every field given on the command line, as defaults and as other values, parses back to the same config."
    assert _parse(_argv(PretrainConfig())) == PretrainConfig()
    other = PretrainConfig(cache='c', meta='m.csv', out_dir='o', scale='medium', method='moco', variant='paper', measurements='mm.csv', text_encoder='transformer', leads='I',
                           pair='patient', batch_size=32, steps=7, epochs=2.5, lr=3e-4, weight_decay=0.0, schedule='warmup_cosine',
                           t0_epochs=4.0, warmup=0.1, clip=1.0, tau=0.1, alpha=0.3, loss_terms='w', use_present=True, moco_k=64, moco_m=0.99,
                           byol_tau=0.99, byol_schedule='cosine', noise='noises.mat', noise_rms=0.05, p_mask=0.0, seed=7,
                           device='cpu', precision='fp32', threads=3, prefetch=0, ckpt_every=5, keep=1, synthetic=True,
                           data_name='d', log_every=2, resume=False, progress=False)
    assert {k for k, v in asdict(other).items() if v == getattr(PretrainConfig(), k)} == set(), 'every field differs from its default'
    assert _parse(_argv(other)) == other


def test_options_override_a_config_file(tmp_path):
    (tmp_path/'run.json').write_text(json.dumps(dict(cache='c', meta='m', steps=5, lr=1e-3)))
    assert _parse(['--config', str(tmp_path/'run.json'), '--steps', '9', '--resume', 'no']) == PretrainConfig(cache='c', meta='m', steps=9, lr=1e-3, resume=False)


def test_wrong_type_is_a_usage_error():
    r = subprocess.run([sys.executable, '-m', 'clef_nb.train', '--steps', 'many'], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "argument --steps: invalid int value: 'many'" in r.stderr, r.stderr[-2000:]
