"""Build the documentation site offline, without Quarto: `python docs/build.py` → `_site/index.html`.

The notebooks in `nbs/` and its folders are executed (cells flagged with `tst_flags`, e.g. `#| slow`, are
skipped as in `nbdev_test`), then passed through nbdev's own documentation processors (`show_doc` for every
exported symbol, hidden cells removed, directives stripped), and rendered by Sphinx with MyST-NB. nbdev's
backtick links become Sphinx cross-references, so a link to a symbol without documentation is a warning,
not a dead link; equations become MathML at build time, so the site needs no script from anywhere. Every
Sphinx warning is written to `_proc/sphinx-warnings.txt`. The same processed index notebook also writes
`README.md` (`--readme`), the job `nbdev_readme` does on machines with Quarto.
"""
import argparse, json, os, re, shutil, subprocess, sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NBS, SITE = ROOT/'nbs', ROOT/'_site'
EXEC, PROC = ROOT/'_proc'/'nbs', ROOT/'_proc'/'sphinx'   # executed and processed notebooks; Sphinx's source
WARNINGS = ROOT/'_proc'/'sphinx-warnings.txt'
_NUMBERED = r'^\d+[a-zA-Z0-9]*_'   # nbdev's rule for a page name (doclinks._nbpath2html): `01_io` → `io`, `30a_baselines` → `baselines`


def _skip(flags):
    "A `preproc` for execnb that skips non-code cells, `nbdev_export()` calls, `#| eval: false` cells and flagged cells, as nbdev_test does."
    from nbdev.process import extract_directives
    def f(cell):
        if cell.cell_type != 'code': return True
        if 'nbdev_export' + '(' in cell.source: return True
        d = extract_directives(cell, remove=False)
        if [str(v).lower() for v in d.get('eval:', d.get('eval', []))] == ['false']: return True
        return bool(flags & d.keys())
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


def notebooks():
    "Every notebook of the site: `nbs/` and its folders, less names starting with `_` or `.` (drafts, checkpoints), as Quarto skips them."
    return sorted(p for p in NBS.rglob('*.ipynb') if not any(s.startswith(('_', '.')) for s in p.relative_to(NBS).parts))


def _page(nb_path):
    "A notebook's page, relative to the site, without suffix: nbdev's name (`01_io` → `io`, `explanations/why` stays); `<name>-run` for an experiment named like a module."
    rel = Path(nb_path).resolve().relative_to(NBS)
    name = lambda r: r.with_name(re.sub(_NUMBERED, '', r.name.lower())).with_suffix('').as_posix()
    if re.match(_NUMBERED, rel.name): return name(rel)
    clash = any(re.match(_NUMBERED, p.name) and name(p.relative_to(NBS)) == name(rel) for p in (NBS/rel.parent).glob('*.ipynb'))
    return f'{name(rel)}-run' if clash else name(rel)


# The site's navigation: a folder of `nbs/` is a section of its own (`explanations/` → "Explanations"); a
# numbered notebook belongs to the section of its band (STYLE.md: 00–39 the library, 40 and up the tables);
# an un-numbered notebook with a papermill `parameters` cell is an experiment; any other one is a guide.
BANDS = [(0, 'Library'), (40, 'Tables')]
ORDER = ['Library', 'Experiments', 'Tables', 'Guides']   # folder sections follow, in alphabetical order


def section(nb_path) -> str:
    "The navigation section of a notebook, from its folder, its number band or its `parameters` cell."
    rel = Path(nb_path).resolve().relative_to(NBS)
    if len(rel.parts) > 1: return rel.parts[0].replace('_', ' ').capitalize()
    if m := re.match(r'^(\d+)', rel.name): return [s for lo, s in BANDS if int(m[1]) >= lo][-1]
    cells = json.loads(Path(nb_path).read_text())['cells']
    return 'Experiments' if any('parameters' in c.get('metadata', {}).get('tags', []) for c in cells) else 'Guides'


def _for_myst(nb):
    "Translate what nbdev leaves for Quarto into MyST-NB terms: `echo: false` hides a cell's input, attribute spans go, `show_doc`'s leading rule goes."
    strip = lambda md: re.sub(r'\{target="_blank"[^}]*\}', '', md)
    for c in nb.cells:
        if c.cell_type == 'markdown': c.source = strip(c.source)
        if c.cell_type != 'code': continue
        lines = c.source.splitlines()
        if any(re.match(r'#\|\s*echo:\s*false', l) for l in lines): c.setdefault('metadata', {})['tags'] = ['remove-input']
        c.source = '\n'.join(l for l in lines if not l.startswith('#|'))
        for o in c.get('outputs', []):
            md = o.get('data', {}).get('text/markdown')
            # a `---` opening an output is a transition inside a cell, which docutils cannot place
            if md: o['data']['text/markdown'] = re.sub(r'^\s*---\s*\n', '', strip(''.join(md)))


def process(nb_path: Path, execute=True) -> Path:
    "Execute one notebook (unless `execute` is off or its front matter says `skip_exec: true`) and apply nbdev's documentation processors."
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
        if execute and not skip_exec: CaptureShell(nb_path, mpl_format='png').run_all(nb, exc_stop=True, preproc=_skip(flags))
        FilterDefaults()(nb)
    _title_cell(nb)
    _for_myst(nb)
    for c in nb.cells:   # nbdev's working keys (`directives_`, `has_sd`, …) are not nbformat's: a reader would reject the notebook
        for k in set(c) - {'cell_type', 'id', 'metadata', 'source', 'outputs', 'execution_count', 'attachments'}: c.pop(k)
    dst = EXEC/f'{_page(nb_path)}.ipynb'
    dst.parent.mkdir(parents=True, exist_ok=True)
    write_nb(nb, dst)
    return dst


def _texts(nb):
    "Every markdown text of a processed notebook (JSON): markdown cells' sources and markdown outputs, as (holder, key) pairs."
    for c in nb['cells']:
        if c['cell_type'] == 'markdown': yield c, 'source'
        for o in c.get('outputs', []):
            if 'text/markdown' in o.get('data', {}): yield o['data'], 'text/markdown'


def link(pages, site_url):
    """Give each `show_doc` heading a target and turn nbdev's links to the site into cross-references.

    nbdev links a backticked name to `<site>/<page>.html#<name, lowercased>`. Where `<page>` documents the
    name (matched by case first: `Net1D` and `net1d` are two symbols), the link becomes a reference to its
    target; where the page exists but shows no documentation for it (a private helper), a link to the page.
    Any other link to the site stays as written, and Sphinx warns."""
    nbs = {p: json.loads((EXEC/f'{p}.ipynb').read_text()) for p in pages}
    labels, used = {}, set()   # (page, name) → label; labels are case-insensitive in Sphinx
    for page, nb in nbs.items():
        for holder, key in _texts(nb):
            if key != 'text/markdown': continue
            md = ''.join(holder[key])
            if not (m := re.search(r'^#{2,6}\s+(\S+)\s*$', md, re.M)) or (page, m[1]) in labels: continue
            base = label = f"{page.replace('/', '-')}.{m[1].lower()}"
            k = 1
            while label in used: k += 1; label = f'{base}-{k}'
            used.add(label); labels[page, m[1]] = label
            holder[key] = md[:m.start()] + f'({label})=\n' + md[m.start():]
    lower = {}
    for (page, name), label in labels.items(): lower.setdefault((page, name.lower()), label)
    def ref(m):
        text, page, anchor = m[1], m[2], m[3]
        if page not in nbs: return m[0]
        label = labels.get((page, text.strip('`'))) or lower.get((page, anchor))
        return f'[{text}](#{label})' if label else f'[{text}](/{page}.ipynb)'
    pat = re.compile(r'\[([^\]]*)\]\(' + re.escape(site_url) + r'([^)#\s]+)\.html(?:#([^)\s]+))?\)')
    for page, nb in nbs.items():
        for holder, key in _texts(nb): holder[key] = pat.sub(ref, ''.join(holder[key]))
        (PROC/f'{page}.ipynb').parent.mkdir(parents=True, exist_ok=True)
        (PROC/f'{page}.ipynb').write_text(json.dumps(nb))


def readme(index: Path) -> str:
    "Markdown for README.md from the processed index notebook: markdown cells, code cells (not those with `echo: false`), their text and markdown outputs."
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
    # links into the docs site would break on a code host: keep the names, drop the links
    return re.sub(r'\[(`[^`]+`)\]\([^)]*\.html#[^)]*\)', r'\1', '\n\n'.join(out)) + '\n'


CONF = '''
project = "clef_nb"
extensions = ["myst_nb"]
nb_execution_mode = "off"
nb_render_markdown_format = "myst"
myst_enable_extensions = ["colon_fence", "dollarmath", "html_image"]
html_theme = "furo"
html_title = "clef_nb"
html_math_renderer = "mathml"
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
suppress_warnings = ["myst.header", "misc.highlighting_failure", "mystnb.unknown_mime_type"]


def setup(app):
    "Render `$...$` and `$$...$$` as MathML at build time (latex2mathml): browsers draw it natively, so no script is loaded from anywhere."
    from docutils import nodes
    from latex2mathml.converter import convert
    from sphinx.util import logging
    log = logging.getLogger("mathml")
    def mathml(self, node, display):
        latex = node.astext()
        try: self.body.append(convert(latex.strip(), display=display))
        except Exception as e:
            log.warning(f"cannot render {latex!r} as MathML: {e}", location=node)
            self.body.append(f"<code>{self.encode(latex)}</code>")
        raise nodes.SkipNode
    app.add_html_math_renderer("mathml", (lambda self, node: mathml(self, node, "inline"), None),
                               (lambda self, node: mathml(self, node, "block"), None))
'''


def toctree(pages):
    "Hidden toctrees for the home page, one per navigation section: `pages` maps a page to its section."
    secs = sorted(set(pages.values()), key=lambda s: (ORDER.index(s), '') if s in ORDER else (len(ORDER), s))
    return [f'```{{toctree}}\n:hidden:\n:maxdepth: 1\n:caption: {s}\n' + '\n'.join(p for p in pages if pages[p] == s) + '\n```'
            for s in secs]


def sphinx(pages):
    "Render the processed notebooks with Sphinx + MyST-NB into `_site/`; warnings go to `WARNINGS` as well as the terminal."
    (PROC/'conf.py').write_text(CONF)
    idx = PROC/'index.ipynb'
    nb = json.loads(idx.read_text())
    nb['cells'] += [dict(cell_type='markdown', metadata={}, source=t) for t in toctree({p: s for p, s in pages.items() if p != 'index'})]
    idx.write_text(json.dumps(nb))
    if SITE.exists(): shutil.rmtree(SITE)
    subprocess.run([sys.executable, '-m', 'sphinx', '-b', 'html', '-q', '-w', str(WARNINGS), str(PROC), str(SITE)], check=True)
    shutil.rmtree(SITE.parent/'jupyter_execute', ignore_errors=True)  # MyST-NB's scratch copy, beside the output
    n = sum(1 for l in WARNINGS.read_text().splitlines() if 'WARNING' in l or 'ERROR' in l)
    print(f'{n} Sphinx warnings' + (f': {WARNINGS}' if n else ''))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('notebooks', nargs='*', help='notebooks to render (default: every notebook of the site)')
    ap.add_argument('--readme', nargs='?', const=str(ROOT/'README.md'), metavar='PATH',
                    help='only write the README (default README.md) from nbs/index.ipynb')
    ap.add_argument('--workers', type=int, default=2, help='notebooks executed in parallel')
    ap.add_argument('--no-exec', action='store_true', help='do not run the notebooks: prose and API documentation only (a quick look at the site)')
    ap.add_argument('--one', action='store_true', help=argparse.SUPPRESS)  # internal: process one notebook
    a = ap.parse_args()
    nbs = [Path(p).resolve() for p in a.notebooks] or notebooks()
    if a.readme: nbs = [NBS/'index.ipynb']
    if a.one: return process(nbs[0], execute=not a.no_exec)
    for d in (EXEC, PROC): shutil.rmtree(d, ignore_errors=True)
    run = lambda nb: subprocess.run([sys.executable, __file__, '--one', str(nb)] + ['--no-exec']*a.no_exec).returncode
    with ThreadPoolExecutor(a.workers) as ex: failed = [nb.name for nb, rc in zip(nbs, ex.map(run, nbs)) if rc]
    if failed: sys.exit(f'{len(failed)} of {len(nbs)} notebooks failed (their tracebacks are above): {", ".join(failed)}')
    if a.readme:
        Path(a.readme).write_text(readme(EXEC/'index.ipynb'))
        return print(f'wrote {a.readme}')
    from nbdev.config import get_config
    cfg = get_config()
    pages = {_page(nb): section(nb) for nb in nbs}
    link(pages, f"{cfg['doc_host']}{cfg['doc_baseurl']}/")
    sphinx(pages)
    print(f'site: {SITE/"index.html"}')


if __name__ == '__main__': main()
