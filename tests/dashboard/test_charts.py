from dashboard.charts import bars


def test_bars_scale_to_the_largest() -> None:
    b = bars([("a", 10), ("b", 5), ("c", 0)], width=300, height=120)
    assert [x.label for x in b] == ["a", "b", "c"]
    assert b[0].height == 100 and b[1].height == 50 and b[2].height == 0
    assert b[1].x > b[0].x and bars([]) == []
