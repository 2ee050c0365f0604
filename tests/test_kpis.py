"""KPI formulas on hand-computed examples."""

from decimal import Decimal

from data.core.kpis import Totals, format_kpi

USES_DATABASE = False


def test_kpis_from_sums():
    # 10 attempts: 4 answered (billsec 30, 60, 90, 4), 2 busy (17), 1 no answer (19), 3 congestion (34).
    t = Totals(
        attempts=10,
        answered=4,
        ner_success=7,
        duration_sum=220,
        billsec_sum=184,
        short_calls=1,
        pdd_sum=12,
        pdd_count=6,
        buy_cost=Decimal("1.20000"),
        sell_cost=Decimal("2.00000"),
    )
    assert t.asr == Decimal("0.4")
    assert t.acd == Decimal(46)
    assert t.ner == Decimal("0.7")
    assert t.short_call_ratio == Decimal("0.25")
    assert t.pdd == Decimal(2)
    assert t.minutes == Decimal(184) / 60
    assert t.margin == Decimal("0.8") and t.margin_ratio == Decimal("0.4")


def test_acd_is_not_an_average_of_averages():
    # Hour 1: 1 call of 600 s; hour 2: 9 calls of 10 s. Mean of hourly ACDs would be 305 s; true ACD is 69 s.
    hour1 = Totals(attempts=1, answered=1, billsec_sum=600)
    hour2 = Totals(attempts=9, answered=9, billsec_sum=90)
    both = Totals(attempts=10, answered=10, billsec_sum=hour1.billsec_sum + hour2.billsec_sum)
    assert both.acd == Decimal(69)


def test_zero_denominators_show_a_dash_not_zero():
    t = Totals()
    assert t.asr is None and t.acd is None and t.ner is None and t.pdd is None and t.margin_ratio is None
    assert format_kpi(t.asr, "percent") == "–"
    assert format_kpi(Decimal("0.4"), "percent") == "40.0 %"
    assert format_kpi(Decimal("46.4"), "seconds") == "46 s"
    assert format_kpi(Decimal("1234.5"), "money") == "1,234.50"


def test_from_row_treats_nulls_as_zero():
    t = Totals.from_row({"attempts": 3, "answered": None, "buy_cost": None})
    assert t.attempts == 3 and t.answered == 0 and t.asr == 0
