import dash

from components.charts import chart_card
from components.filters import filter_bar
from components.layout import page_layout
from data.admin import acl
from data.core.i18n import N_
from data.core.i18n import gettext as _

dash.register_page(__name__, path="/concurrent-calls", name=N_("Concurrent calls"), order=60, access=acl.PAGE)


def layout(**query):
    return page_layout(
        _("Concurrent calls"),
        filter_bar({"preset": "today", **query}, relative=True),
        chart_card("concurrent-calls", _("Peak simultaneous calls"), height=420),
        intro=_(
            "Peak simultaneous calls per minute and switch (per hour beyond 3 days), from the calls' start "
            "and end times. "
            "With several switches, a total line adds them up: the whole network's peak is at most that sum."
        ),
    )
