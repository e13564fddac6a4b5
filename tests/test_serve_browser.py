"""The page of ``treenets serve`` in a real browser: headless Chromium driven by Selenium.

It types a sentence, submits it, and checks the drawn trees against ``/v1/predict``: one coloured
node per tree node, each with its node's label and that label's colour; hovering shows the phrase
and the probabilities; the similarity form answers; a 40-word sentence scrolls inside its box
instead of widening the page. Skips, naming what is missing, without chromium, chromedriver or
selenium (``bash .ci/run browser`` installs them and fails if this skips). Set
``TREENETS_SCREENSHOT_DIR`` to keep the screenshot of the 40-word sentence.
"""
import os
import shutil
import time

import pytest

from _serving import ServerProcess, require_serve_extra

require_serve_extra()
import httpx  # noqa: E402

SENTENCE = "The movie was not bad at all, though the ending dragged."
LONG = ("After a slow and rather confusing first hour , the film finally finds its footing , and the last "
        "twenty minutes , with their clever twists and a genuinely moving performance from the lead , make "
        "the whole long journey worth it .")


def _browser_paths():
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    missing = [name for name, path in (("chromium", browser), ("chromedriver", driver)) if path is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not found (Debian: apt-get install chromium chromium-driver)")
    pytest.importorskip("selenium", reason="selenium is not installed (pip install selenium)")
    return browser, driver


@pytest.fixture(scope="module")
def server(stanza_dir, tmp_path_factory):
    _browser_paths()
    server = ServerProcess(["--model", "sst2", "--model", "sick", "--parse-trees", ""],
                           tmp_path_factory.mktemp("serve-browser") / "server.log",
                           cache_dir=tmp_path_factory.mktemp("serve-browser-cache"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def driver(server):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, chromedriver = _browser_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1200,900"):
        options.add_argument(arg)
    d = webdriver.Chrome(service=Service(chromedriver), options=options)
    d.set_page_load_timeout(60)
    yield d
    d.quit()


def _wait(condition, timeout=120.0, what="the page"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _submit(driver, server, text):
    from selenium.webdriver.common.by import By

    driver.get(server.url + "/")
    _wait(lambda: driver.find_elements(By.CSS_SELECTOR, "#model option"), what="the model list")
    box = driver.find_element(By.ID, "text")
    box.clear()
    box.send_keys(text)
    driver.find_element(By.ID, "submit").click()
    return _wait(lambda: driver.find_elements(By.CSS_SELECTOR, "#results figure.sentence"), what="the trees")


def test_typed_sentence_draws_one_coloured_node_per_tree_node(driver, server):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    figures = _submit(driver, server, SENTENCE)
    with httpx.Client(base_url=server.url, timeout=60) as client:
        expected = client.post("/v1/predict", json={"texts": [SENTENCE]}).json()["results"]
        colors = [m for m in client.get("/v1/models").json()["models"] if m["name"] == "sst2"][0]["colors"]
    assert len(figures) == len(expected) >= 1
    for figure, result in zip(figures, expected):
        circles = figure.find_elements(By.CSS_SELECTOR, "circle.node")
        assert len(circles) == len(result["nodes"])
        assert [c.get_attribute("data-label") for c in circles] == [n["label"] for n in result["nodes"]]
        assert [c.get_attribute("fill") for c in circles] == [colors[n["label"]] for n in result["nodes"]]
        assert result["label"] in figure.find_element(By.TAG_NAME, "figcaption").text
    root = figures[0].find_elements(By.CSS_SELECTOR, "circle.node")[expected[0]["nodes"][0]["id"]]
    ActionChains(driver).move_to_element(root).perform()
    hover = _wait(lambda: driver.find_element(By.ID, "hover").is_displayed() and driver.find_element(By.ID, "hover"),
                  what="the hover box")
    node = expected[0]["nodes"][0]
    assert driver.find_element(By.ID, "hover-phrase").text == node["phrase"]
    assert driver.find_element(By.ID, "hover-label").text == node["label"]
    for label, p in node["probs"].items():
        assert f"{label} {p:.2f}" in hover.text.replace("\n", " ")


def test_similarity_form(driver, server):
    from selenium.webdriver.common.by import By

    driver.get(server.url + "/")
    _wait(lambda: driver.find_elements(By.CSS_SELECTOR, "#sim-model option"), what="the model list")
    driver.find_element(By.ID, "sent-a").send_keys("A man is playing a guitar.")
    driver.find_element(By.ID, "sent-b").send_keys("A man plays the guitar.")
    driver.find_element(By.ID, "sim-submit").click()
    out = _wait(lambda: driver.find_element(By.ID, "similarity-result").get_attribute("data-score")
                and driver.find_element(By.ID, "similarity-result"), what="the similarity")
    with httpx.Client(base_url=server.url, timeout=60) as client:
        score = client.post("/v1/similarity", json={"pairs": [{"a": "A man is playing a guitar.",
                                                               "b": "A man plays the guitar."}]}).json()
    assert float(out.get_attribute("data-score")) == score["results"][0]["score"]
    assert f"{score['results'][0]['score']:.2f}" in out.text


def test_a_40_word_sentence_scrolls_in_its_box(driver, server, tmp_path):
    from selenium.webdriver.common.by import By

    assert len(LONG.split()) >= 40
    figures = _submit(driver, server, LONG)
    box = figures[0].find_element(By.CSS_SELECTOR, ".tree-scroll")
    page_width, viewport = driver.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth];")
    assert page_width <= viewport, "the tree widens the page"
    assert driver.execute_script("return arguments[0].scrollWidth > arguments[0].clientWidth;", box)
    caption = figures[0].find_element(By.TAG_NAME, "figcaption")
    assert caption.size["width"] <= viewport  # the sentence wraps
    folder = os.environ.get("TREENETS_SCREENSHOT_DIR")
    path = (os.path.join(folder, "serve-40-words.png") if folder else str(tmp_path / "serve-40-words.png"))
    assert driver.save_screenshot(path)
    driver.find_element(By.ID, "fit").click()  # fit to the width: no scrolling left
    assert driver.execute_script("return arguments[0].scrollWidth <= arguments[0].clientWidth + 1;", box)
    if folder:
        driver.save_screenshot(os.path.join(folder, "serve-40-words-fit.png"))
