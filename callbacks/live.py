from dash import Input, Output

from callbacks.filters import THEME_INPUT
from components.figures import themed
from components.live import breakdown_table, sparkline_figure, switch_table
from data.admin import acl
from data.core.i18n import gettext as _
from data.core.i18n import with_country_names
from data.core.scope import current_scope
from data.live.store import live_summary
from routes.access import callbacks_for

callback = callbacks_for(acl.page("/live"))


@callback(
    Output("live-calls", "children"),
    Output("live-cps", "children"),
    Output("live-sparkline", "figure"),
    Output("live-switches", "children"),
    Output("live-customers", "children"),
    Output("live-countries", "children"),
    [Input("live-interval", "n_intervals"), THEME_INPUT],
)
def refresh_live(_ticks, dark):
    scope = current_scope()
    summary = live_summary(scope)
    return (
        str(summary["calls"]),
        f"{summary['cps']:.1f}",
        themed(sparkline_figure(summary["sparkline"]), dark),
        switch_table(summary["switches"], scope.timezone),
        breakdown_table(summary["customers"], _("Customer")),
        breakdown_table(with_country_names(summary["countries"]), _("Country")),
    )
