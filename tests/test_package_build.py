"The built wheel contains every module and subpackage of clef_nb, and installs and imports outside the source tree."
import os, subprocess, sys, zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _modules():
    "Dotted names of every module in the source package."
    pkg = ROOT/'clef_nb'
    return sorted('.'.join(p.relative_to(ROOT).with_suffix('').parts).removesuffix('.__init__') for p in pkg.rglob('*.py'))


def test_wheel_contains_and_imports_everything(tmp_path):
    subprocess.run([sys.executable, '-m', 'build', '--wheel', '--no-isolation', '--outdir', str(tmp_path/'dist'), str(ROOT)],
                   check=True, capture_output=True)
    whl, = (tmp_path/'dist').glob('clef_nb-*.whl')
    names = set(zipfile.ZipFile(whl).namelist())
    mods = _modules()
    assert 'clef_nb.io' in mods and 'clef_nb.signal' in mods
    missing = [m for m in mods if m.replace('.', '/') + '.py' not in names and m.replace('.', '/') + '/__init__.py' not in names]
    assert not missing, f'modules missing from the wheel: {missing}'
    data = [str(p.relative_to(ROOT)) for p in (ROOT/'clef_nb'/'data').rglob('*') if p.is_file()]
    assert data and not [f for f in data if f not in names], 'package data missing from the wheel'
    subpkgs = [p.parent for p in (ROOT/'clef_nb').rglob('__init__.py')]
    assert all(str(p.relative_to(ROOT)) + '/__init__.py' in names for p in subpkgs)
    # install the wheel alone into a folder and import every module from there, outside the source tree
    site = tmp_path/'site'
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--no-index', '--target', str(site), str(whl)], check=True)
    code = ('import importlib, clef_nb, pathlib; '
            f'[importlib.import_module(m) for m in {mods!r}]; '
            'print(pathlib.Path(clef_nb.__file__).parent)')
    env = dict(os.environ, PYTHONPATH=str(site), MPLBACKEND='Agg')
    out = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, env=env, check=True, capture_output=True, text=True).stdout.strip()
    assert Path(out).is_relative_to(site), f'imported clef_nb from {out}, not from the installed wheel'
