"""Metrics and tables of facezoo.training.evaluate (pure numpy parts)."""

from __future__ import annotations

import numpy as np
import pytest

from facezoo.training.evaluate import Table, classification_metrics, regression_metrics


def test_regression_metrics():
    m = regression_metrics(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.5, 2.0, 2.0, 4.0]))
    assert m["mae"] == pytest.approx(0.375)
    assert m["rmse"] == pytest.approx(np.sqrt((0.25 + 1.0) / 4))
    assert m["pearson_r"] == pytest.approx(np.corrcoef([1, 2, 3, 4], [1.5, 2, 2, 4])[0, 1])
    assert np.isnan(regression_metrics(np.array([1.0, 2.0]), np.array([3.0, 3.0]))["pearson_r"])


def test_classification_metrics():
    metrics, table, confusion = classification_metrics(
        np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 1, 1]), ("a", "b", "c")
    )
    assert metrics["accuracy"] == pytest.approx(0.6)
    assert confusion.tolist() == [[1, 1, 0], [0, 2, 0], [0, 1, 0]]
    rows = {row["class"]: row for row in table.to_dicts()}
    assert rows["a"]["precision"] == 1.0 and rows["a"]["recall"] == 0.5
    assert rows["b"]["precision"] == pytest.approx(0.5) and rows["b"]["recall"] == 1.0
    assert rows["c"]["f1"] == 0.0 and rows["c"]["support"] == 1  # never predicted: 0, not NaN
    assert metrics["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 0) / 3)


def test_table_formats(tmp_path):
    table = Table(("gender", "count", "mae"), (("female", 3, 0.25), ("male", 2, float("nan"))), title="T")
    assert "| female | 3 | 0.250 |" in table.to_markdown() and "nan" in str(table)
    assert table.to_csv(tmp_path / "t.csv").splitlines()[0] == "gender,count,mae"
    assert (tmp_path / "t.csv").read_text().count("\n") == 3
