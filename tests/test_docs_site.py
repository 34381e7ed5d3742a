"The offline docs build produces a site whose pages, API docs and figures load in headless Chromium."
import functools, http.server, os, shutil, subprocess, sys, threading
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
# CI installs Debian's chromium and sets CLEF_NB_REQUIRE_BROWSER=1, so there the browser check cannot be skipped
needs_browser = pytest.mark.skipif(not CHROMIUM and not os.environ.get('CLEF_NB_REQUIRE_BROWSER'), reason='chromium not installed')


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
    pages = {p.stem for p in (ROOT/'_site').glob('*.html')} - {'genindex', 'search'}
    nbs = [p for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith('_')]
    assert len(pages) == len(nbs), f'{len(nbs)} notebooks but {len(pages)} pages: {sorted(pages)}'  # one page each, no collisions
    assert {'io', 'signal', 'evaluate', 'evaluate-run', 'pretrain', 'baselines'} <= pages


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
        b.close()


def test_readme_is_generated_from_index(tmp_path):
    "README.md is nbs/index.ipynb rendered; edit the notebook and run `python docs/build.py --readme`."
    subprocess.run([sys.executable, str(ROOT/'docs'/'build.py'), '--readme', str(tmp_path/'README.md')], check=True, cwd=ROOT)
    assert (tmp_path/'README.md').read_text() == (ROOT/'README.md').read_text(), 'README.md is stale: run python docs/build.py --readme'
