"""Report HTML blocks: every value is escaped exactly once, numbers are formatted."""

from __future__ import annotations

import pandas as pd

from varflow.report.html import key_values, table


def test_key_values_escape_once_and_format_numbers():
    out = key_values({"sizes": {"s2e_arch": "scan"}, "note": "a < b & it's", "r": 0.123456, "n": 3})
    assert "{&#x27;s2e_arch&#x27;: &#x27;scan&#x27;}" in out
    assert "a &lt; b &amp; it&#x27;s" in out
    assert "&amp;#x27;" not in out and "&amp;lt;" not in out
    assert "<td>0.1235</td>" in out and "<td>3</td>" in out


def test_table_escapes_headers_and_cells():
    out = table(pd.DataFrame({"<col>": ["x\"y"]}))
    assert "<th>&lt;col&gt;</th>" in out and "<td>x&quot;y</td>" in out
