"The offline docs build produces a site whose pages, API docs, figures and equations load in headless Chromium, with no Sphinx warning, no dead link and no request off the site."
import functools, html.parser, http.server, importlib.util, os, shutil, subprocess, sys, threading
from pathlib import Path
from urllib.parse import unquote, urlsplit
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
# CI installs Debian's chromium and sets CLEF_NB_REQUIRE_BROWSER=1, so there the browser check cannot be skipped
needs_browser = pytest.mark.skipif(not CHROMIUM and not os.environ.get('CLEF_NB_REQUIRE_BROWSER'), reason='chromium not installed')
_spec = importlib.util.spec_from_file_location('docs_build', ROOT/'docs'/'build.py')
build = importlib.util.module_from_spec(_spec); _spec.loader.exec_module(build)


@pytest.fixture(scope='module')
def site():
    "Build the whole site (every notebook executed and rendered, as `python docs/build.py` does) and serve it on localhost."
    subprocess.run([sys.executable, str(ROOT/'docs'/'build.py')], check=True, cwd=ROOT)
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args): pass
    handler = functools.partial(Quiet, directory=str(ROOT/'_site'))
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{srv.server_address[1]}'
    srv.shutdown()


def test_site_files(site):
    "One page per notebook, folders kept (`nbs/explanations/x.ipynb` → `explanations/x.html`), no two notebooks on one page."
    site_dir = ROOT/'_site'
    built = {p.relative_to(site_dir).with_suffix('').as_posix() for p in site_dir.rglob('*.html')
             if not p.relative_to(site_dir).parts[0].startswith('_')} - {'genindex', 'search'}
    nbs = build.notebooks()
    pages = {build._page(nb) for nb in nbs}
    assert len(pages) == len(nbs), f'{len(nbs)} notebooks but {len(pages)} page names: two notebooks share a page'
    assert built == pages, f'built {sorted(built ^ pages)} differ from the notebooks'
    assert {'io', 'signal', 'evaluate', 'evaluate-run', 'pretrain', 'baselines'} <= pages


def test_no_sphinx_warnings(site):
    "The build leaves no Sphinx warning: a dead cross-reference, a misplaced rule, a duplicate target or an equation MathML cannot render."
    warnings = [l for l in build.WARNINGS.read_text().splitlines() if l.strip()]
    assert not warnings, f'{len(warnings)} Sphinx warnings (all in {build.WARNINGS}):\n' + '\n'.join(warnings[:30])


def test_sections():
    "Navigation sections follow the folders and the name bands, with no list of pages anywhere."
    nbs = build.NBS
    assert build.section(nbs/'01_io.ipynb') == build.section(nbs/'30a_baselines.ipynb') == 'Library'
    assert build.section(nbs/'40_tables.ipynb') == 'Tables' and build.section(nbs/'explanations'/'why.ipynb') == 'Explanations'
    assert build.section(nbs/'pretrain.ipynb') == 'Experiments'   # it has a `parameters` cell
    assert build.section(nbs/'troubleshooting.ipynb') == 'Guides'
    assert build._page(nbs/'evaluate.ipynb') == 'evaluate-run' and build._page(nbs/'explanations'/'01_why.ipynb') == 'explanations/why'


class _Links(html.parser.HTMLParser):
    "The ids and the `href`s of one HTML page."
    def __init__(self):
        super().__init__(); self.ids, self.hrefs = set(), []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get('id'): self.ids.add(a['id'])
        if tag == 'a' and a.get('href'): self.hrefs.append(a['href'])


def test_links_resolve(site):
    "Every link inside the site reaches a file that exists and, when it names an anchor, an element with that id."
    site_dir, parsed = ROOT/'_site', {}
    def page(p):
        if p not in parsed: parsed[p] = _Links(); parsed[p].feed(p.read_text(errors='replace'))
        return parsed[p]
    dead = []
    for src in sorted(site_dir.rglob('*.html')):
        if src.relative_to(site_dir).parts[0].startswith('_'): continue
        for href in page(src).hrefs:
            u = urlsplit(href)
            if u.scheme or u.netloc or href.startswith('mailto:'): continue
            dst = (src.parent/unquote(u.path)).resolve() if u.path else src
            if dst.is_dir(): dst = dst/'index.html'
            if not dst.exists(): dead.append(f'{src.relative_to(site_dir)}: {href} (no such file)')
            elif u.fragment and dst.suffix == '.html' and unquote(u.fragment) not in page(dst).ids:
                dead.append(f'{src.relative_to(site_dir)}: {href} (no such anchor)')
    assert not dead, f'{len(dead)} dead links:\n' + '\n'.join(dead[:30])


@needs_browser
def test_pages_in_chromium(site):
    from playwright.sync_api import sync_playwright
    flags = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
             '--disable-component-update', '--disable-sync']
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=flags)
        page = b.new_page()
        page.goto(f'{site}/index.html', wait_until='load')
        assert 'clef_nb' in page.title()
        assert page.locator('h1').first.inner_text().strip().startswith('clef_nb')
        assert page.get_by_text('Reading ECGs').count() >= 1  # the navigation links to the io page
        page.goto(f'{site}/io.html', wait_until='load')
        assert page.locator('h1').first.inner_text().strip().startswith('Reading ECGs')
        body = page.locator('body').inner_text()
        for api in ('read_ecg', 'canonical_lead', 'parse_comments', 'read_batch', 'ECG.plot'):
            assert page.locator('p.rubric, h3, h4', has_text=api).count() >= 1, f'no API documentation for {api}'
        assert 'Read a WFDB record (or a window of it) into an' in body  # read_ecg's docstring
        imgs = page.locator('img')
        assert imgs.count() >= 1
        widths = [imgs.nth(i).evaluate('i => i.complete && i.naturalWidth') for i in range(imgs.count())]
        assert all(w and w > 100 for w in widths), widths  # every figure actually loaded
        page.goto(f'{site}/signal.html', wait_until='load')
        assert page.locator('p.rubric, h3, h4', has_text='rpeaks').count() >= 1 and page.locator('img').count() >= 2
        page.get_by_role('link', name='rpeaks', exact=True).first.click()   # a backtick link is a working cross-reference
        assert page.locator(':target').count() == 1
        assert page.locator(':target').evaluate('e => e.parentElement.innerText').startswith('rpeaks')   # to rpeaks' documentation
        b.close()


@needs_browser
def test_math_offline(site):
    "The losses page's equations are MathML that Chromium lays out as mathematics, and no page asks for anything off the site."
    from playwright.sync_api import sync_playwright
    outside = []
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=['--no-sandbox', '--disable-gpu', '--disable-background-networking'])
        page = b.new_page()
        page.on('request', lambda r: r.url.startswith((site, 'data:', 'about:')) or outside.append(r.url))
        page.goto(f'{site}/losses.html', wait_until='networkidle')
        assert page.locator('math[display=block]').count() >= 2 and page.locator('math').count() >= 10
        frac = page.locator('math[display=block] mfrac').first
        assert frac.evaluate('e => getComputedStyle(e).display').endswith('math')   # laid out by the MathML engine, not as text
        assert frac.bounding_box()['height'] > 1.5 * page.locator('p').first.evaluate('e => parseFloat(getComputedStyle(e).fontSize)')
        body = page.locator('article').inner_text()
        assert '$' not in body and '\\frac' not in body, 'raw LaTeX left on the page'
        for path in ('index.html', 'io.html', 'signal.html'): page.goto(f'{site}/{path}', wait_until='networkidle')
        b.close()
    assert not outside, f'requests off the site: {outside}'


def test_readme_is_generated_from_index(tmp_path):
    "README.md is nbs/index.ipynb rendered; edit the notebook and run `python docs/build.py --readme`."
    subprocess.run([sys.executable, str(ROOT/'docs'/'build.py'), '--readme', str(tmp_path/'README.md')], check=True, cwd=ROOT)
    assert (tmp_path/'README.md').read_text() == (ROOT/'README.md').read_text(), 'README.md is stale: run python docs/build.py --readme'
