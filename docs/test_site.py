"""Open every page of the built site from disk (file://) in headless Chromium, as a reader
would, and fail on what the reader would see broken: math that MathJax did not render, an
image that did not load, a JavaScript error, a request to the network, or a link to a
missing page or anchor. A full-page screenshot of each page goes to docs/_build/screenshots/.

Run once, after `bash scripts/build_site.sh`:  python -m pytest docs/test_site.py
It drives Debian's `chromium` (build_site.sh installs it as root) through Playwright.
"""

import functools
import re
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

SITE = Path(__file__).resolve().parent / "_build" / "html"
SCREENSHOTS = SITE.parent / "screenshots"
PAGES = sorted(str(p.relative_to(SITE)) for p in SITE.rglob("*.html")
               if p.relative_to(SITE).parts[0] != "_static")

MATH_PROBLEMS = r"""() => {
  const unrendered = [...document.querySelectorAll('.math')]
    .filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.trim());
  const errors = [...document.querySelectorAll('mjx-merror')]
    .map(e => e.getAttribute('data-mjx-error') || e.textContent);
  const leftovers = [];  // TeX delimiters left in the text, outside code
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const text = walk.currentNode;
    if (text.parentElement.closest('pre, code, script, style, mjx-container, .math')) continue;
    if (/\$[^$\s][^$]*\$|\\\(|\\\[/.test(text.textContent))
      leftovers.push(text.textContent.trim());
  }
  const problems = errors.map(t => 'MathJax error: ' + t)
    .concat(leftovers.map(t => 'raw TeX in the text: ' + t));
  if (unrendered.length) problems.unshift(`math not rendered by MathJax: ${unrendered.length}`
    + ` of ${document.querySelectorAll('.math').length} formulas, the first: ${unrendered[0]}`);
  return problems;
}"""
BROKEN_IMAGES = """() => [...document.images]
  .filter(image => !(image.complete && image.naturalWidth > 0)).map(image => image.src)"""
LINKS = "() => [...document.querySelectorAll('a[href]')].map(a => a.href)"


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("no chromium on PATH: scripts/build_site.sh installs it (as root)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield browser
        browser.close()


@functools.cache
def anchors(path):
    """The ids (and names) a page's HTML defines: what #fragment links may point at."""
    return set(re.findall(r'\b(?:id|name)="([^"]+)"', path.read_text(encoding="utf-8")))


def link_problem(url):
    """Why an internal link is dead, or None. Links off the site are not followed."""
    parts = urlparse(url)
    if parts.scheme != "file":
        return None
    target = Path(unquote(parts.path))
    if not target.is_file():
        return f"dead link: {url} (no such file)"
    fragment = unquote(parts.fragment)
    if fragment and target.suffix == ".html" and fragment not in anchors(target):
        return f"dead link: {url} (no anchor #{fragment} in {target.name})"
    return None


def test_site_is_built():
    assert (SITE / "index.html").is_file(), "no site: run bash scripts/build_site.sh first"


def test_gallery_has_a_picture_per_notebook():
    index = (SITE / "index.html").read_text(encoding="utf-8")
    notebooks = list((SITE / "notebooks").glob("*.html"))
    assert notebooks, "no notebook pages in the site"
    assert index.count('class="sd-card-img-top') == len(notebooks), "gallery incomplete"


@pytest.mark.parametrize("name", PAGES)
def test_page(browser, name):
    problems = []
    page = browser.new_page(viewport={"width": 1280, "height": 900})

    def request(route):  # files of the site only: a page must not need the network
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:", "about:")):
            route.continue_()
        else:
            problems.append(f"network request: {url}")
            route.abort()

    page.route("**/*", request)
    page.on("pageerror", lambda error: problems.append(f"JavaScript error: {error}"))
    page.on("console", lambda message: message.type == "error"
            and problems.append(f"console error: {message.text} ({message.location['url']})"))
    page.on("requestfailed", lambda r: problems.append(f"failed to load {r.url}: {r.failure}"))

    page.goto((SITE / name).as_uri(), wait_until="load")
    page.evaluate("async () => { if (window.MathJax?.startup?.promise)"
                  " await window.MathJax.startup.promise; }")
    problems += page.evaluate(MATH_PROBLEMS)
    problems += [f"image did not load: {src}" for src in page.evaluate(BROKEN_IMAGES)]
    problems += sorted({p for p in map(link_problem, page.evaluate(LINKS)) if p})

    # The whole page in one picture: a window as tall as the page (Playwright's full_page
    # option shifts this theme's layout sideways).
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": 1280, "height": height})
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / name.replace("/", "__").replace(".html", ".png"))
    page.close()
    if problems:
        pytest.fail(f"{name}:\n  " + "\n  ".join(problems), pytrace=False)


NOTEBOOK_PAGES = [name for name in PAGES if name.startswith("notebooks/")]


@pytest.mark.parametrize("name", NOTEBOOK_PAGES)
def test_the_gradient_step_has_a_tab_per_backend(browser, name):
    """The lines one gen_lib.minimize call stands for: a tab each for TensorFlow, JAX and
    PyTorch; choosing a tab shows that backend's code."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto((SITE / name).as_uri(), wait_until="load")
    tab_sets = page.locator(".sd-tab-set")
    assert tab_sets.count() == 1, f"{name}: {tab_sets.count()} tab sets"
    labels = tab_sets.first.locator("label").all_inner_texts()
    assert [label.strip() for label in labels] == ["TensorFlow", "JAX", "PyTorch"], labels
    for label, code in [("PyTorch", "torch.autograd.grad"), ("JAX", "jax.value_and_grad"),
                        ("TensorFlow", "tf.GradientTape")]:
        tab_sets.first.locator("label", has_text=label).click()
        shown = tab_sets.first.locator(".sd-tab-content:visible").inner_text()
        assert code in shown, f"{name}: the {label} tab shows {shown[:200]!r}"
    page.close()
