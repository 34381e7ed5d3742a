"""Build the documentation site offline, without Quarto: `python docs/build.py` → `_site/index.html`.

The notebooks in `nbs/` are executed (cells flagged with `tst_flags`, e.g. `#| slow`, are skipped as in
`nbdev_test`), then passed through nbdev's own documentation processors (`show_doc` for every exported
symbol, hidden cells removed, directives stripped), and rendered by Sphinx with MyST-NB. The same processed
index notebook also writes `README.md` (`--readme`), the job `nbdev_readme` does on machines with Quarto.
"""
import argparse, os, shutil, subprocess, sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBS, PROC, SITE = ROOT/'nbs', ROOT/'_proc'/'sphinx', ROOT/'_site'


def _skip(flags):
    "A `preproc` for execnb that skips non-code cells, `nbdev_export()` calls and flagged cells, as nbdev_test does."
    from nbdev.process import extract_directives
    def f(cell):
        if cell.cell_type != 'code': return True
        if 'nbdev_export' + '(' in cell.source: return True
        return bool(flags & extract_directives(cell, remove=False).keys())
    return f


def _title_cell(nb):
    "Turn the YAML front matter nbdev makes from the H1 title and `>` subtitle back into a markdown title."
    import yaml
    for c in nb.cells:
        if c.cell_type == 'raw' and c.source.startswith('---'):
            fm = yaml.safe_load(c.source.strip().strip('-')) or {}
            c.cell_type, c.source = 'markdown', f"# {fm.get('title', '')}\n\n> {fm.get('description', '')}"
            c.pop('outputs', None); c.pop('execution_count', None)
            return


def _page(nb_path):
    "A notebook's page: its module name for library notebooks (`01_io` → `io`); `<name>-run` for an experiment named like a module."
    import re
    strip = lambda stem: re.sub(r'^\d+[a-z]?_', '', stem)
    stem = Path(nb_path).stem
    if strip(stem) != stem: return strip(stem)
    return f'{stem}-run' if any(strip(p.stem) == stem != p.stem for p in NBS.glob('*.ipynb')) else stem


def _for_myst(nb, site_url):
    "Translate what nbdev leaves for Quarto into MyST-NB terms: `echo: false` hides a cell's input, attribute spans go, links stay local."
    import re
    local = lambda md: re.sub(r'\{target="_blank"[^}]*\}', '', md.replace(site_url, ''))
    for c in nb.cells:
        if c.cell_type == 'markdown': c.source = local(c.source)
        if c.cell_type != 'code': continue
        lines = c.source.splitlines()
        if any(re.match(r'#\|\s*echo:\s*false', l) for l in lines): c.setdefault('metadata', {})['tags'] = ['remove-input']
        c.source = '\n'.join(l for l in lines if not l.startswith('#|'))
        for o in c.get('outputs', []):
            md = o.get('data', {}).get('text/markdown')
            if md: o['data']['text/markdown'] = local(''.join(md))


def process(nb_path: Path) -> Path:
    "Execute one notebook (unless its front matter says `skip_exec: true`) and apply nbdev's documentation processors."
    import re
    os.chdir(ROOT)
    os.environ.setdefault('MPLBACKEND', 'Agg')
    from execnb.shell import CaptureShell
    from execnb.nbio import read_nb, write_nb
    from fastcore.xtras import working_directory
    from nbdev.config import get_config
    from nbdev.processors import FilterDefaults
    nb, cfg = read_nb(nb_path), get_config()
    flags = set(cfg.get('tst_flags', '').split())
    skip_exec = bool(re.search(r'^\s*-?\s*skip_exec:\s*true', nb.cells[0].source, re.M | re.I)) if nb.cells else False
    with working_directory(nb_path.parent):
        if not skip_exec: CaptureShell(nb_path, mpl_format='png').run_all(nb, exc_stop=True, preproc=_skip(flags))
        FilterDefaults()(nb)
    _title_cell(nb)
    _for_myst(nb, f"{cfg['doc_host']}{cfg['doc_baseurl']}/")
    for c in nb.cells: c.pop('directives_', None)
    dst = PROC/f'{_page(nb_path)}.ipynb'
    dst.parent.mkdir(parents=True, exist_ok=True)
    write_nb(nb, dst)
    return dst


def readme(index: Path) -> str:
    "Markdown for README.md from the processed index notebook: markdown cells, code cells (not those with `echo: false`), their text and markdown outputs."
    import json
    nb, out = json.loads(index.read_text()), []
    for c in nb['cells']:
        src = ''.join(c['source']).strip()
        if not src: continue
        if c['cell_type'] == 'markdown': out.append(src)
        elif c['cell_type'] == 'code':
            if 'remove-input' not in c.get('metadata', {}).get('tags', []): out.append(f'```python\n{src}\n```')
            for o in c.get('outputs', []):
                md = o.get('data', {}).get('text/markdown')
                if md: out.append(''.join(md).strip()); continue   # a generated table: markdown as it is
                txt = o.get('text') or o.get('data', {}).get('text/plain')
                if txt: out.append('    ' + ''.join(txt).strip().replace('\n', '\n    '))
    import re  # links into the docs site would break on a code host: keep the names, drop the links
    return re.sub(r'\[(`[^`]+`)\]\([^)]*\.html#[^)]*\)', r'\1', '\n\n'.join(out)) + '\n'


CONF = '''
project = "clef_nb"
extensions = ["myst_nb"]
nb_execution_mode = "off"
nb_render_markdown_format = "myst"
myst_enable_extensions = ["colon_fence", "dollarmath", "html_image"]
html_theme = "furo"
html_title = "clef_nb"
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
suppress_warnings = ["myst.header", "misc.highlighting_failure", "mystnb.unknown_mime_type"]
'''


def sphinx(pages):
    "Render the processed notebooks with Sphinx + MyST-NB into `_site/`."
    (PROC/'conf.py').write_text(CONF)
    toc = '\n'.join(p.stem for p in pages if p.stem != 'index')
    idx = PROC/'index.ipynb'
    import json
    nb = json.loads(idx.read_text())
    nb['cells'].append(dict(cell_type='markdown', metadata={}, source=f'```{{toctree}}\n:hidden:\n:maxdepth: 1\n{toc}\n```'))
    idx.write_text(json.dumps(nb))
    if SITE.exists(): shutil.rmtree(SITE)
    subprocess.run([sys.executable, '-m', 'sphinx', '-b', 'html', '-q', str(PROC), str(SITE)], check=True)
    shutil.rmtree(SITE.parent/'jupyter_execute', ignore_errors=True)  # MyST-NB's scratch copy, beside the output


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('notebooks', nargs='*', help='notebooks to render (default: every notebook in nbs/)')
    ap.add_argument('--readme', nargs='?', const=str(ROOT/'README.md'), metavar='PATH',
                    help='only write the README (default README.md) from nbs/index.ipynb')
    ap.add_argument('--workers', type=int, default=2, help='notebooks executed in parallel')
    ap.add_argument('--one', action='store_true', help=argparse.SUPPRESS)  # internal: process one notebook
    a = ap.parse_args()
    nbs = [Path(p).resolve() for p in a.notebooks] or sorted(p for p in NBS.glob('*.ipynb') if not p.name.startswith('_'))
    if a.readme: nbs = [NBS/'index.ipynb']
    if a.one: return process(nbs[0])
    if PROC.exists(): shutil.rmtree(PROC)
    run = lambda nb: subprocess.run([sys.executable, __file__, '--one', str(nb)], check=True)
    with ThreadPoolExecutor(a.workers) as ex: list(ex.map(run, nbs))
    pages = [PROC/f'{_page(nb)}.ipynb' for nb in nbs]
    if a.readme:
        Path(a.readme).write_text(readme(PROC/'index.ipynb'))
        return print(f'wrote {a.readme}')
    sphinx(pages)
    print(f'site: {SITE/"index.html"}')


if __name__ == '__main__': main()
