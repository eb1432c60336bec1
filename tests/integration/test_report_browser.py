"""The HTML report renders in headless Chromium: every section and image, no console errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from headless_browser import chromium
from varflow.report.build import build_report
from varflow.report.sections import SECTIONS


@pytest.fixture(scope="module")
def report(tiny_results: Path) -> Path:
    return build_report(tiny_results, tiny_results / "report.html")


def test_report_is_self_contained(report: Path):
    text = report.read_text()
    assert "http://" not in text and "https://" not in text, "the report must not reach the network"
    assert text.count("data:image/png;base64,") >= 5


def test_report_renders_every_section_and_image(report: Path):
    with chromium() as driver:
        driver.get(report.resolve().as_uri())
        for anchor, heading, _ in SECTIONS:
            element = driver.find_element("id", anchor)
            assert element.is_displayed() and heading in element.text
            assert "did not run" not in element.text, f"section {anchor} is empty"
        states = driver.execute_script(
            "return Array.from(document.images).map(i => [i.alt, i.complete && i.naturalWidth > 0]);")
        assert len(states) >= 5
        assert [alt for alt, ok in states if not ok] == [], "images that failed to render"
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        assert errors == []
