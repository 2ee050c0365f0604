from dash import Input, Output, callback

from components.tables import simple_table
from data.scope import current_scope
from data.switches import calls_per_switch


@callback(Output("home-calls-per-switch", "children"), Input("home-calls-per-switch", "id"))
def show_calls_per_switch(_):
    rows = calls_per_switch(current_scope())
    return simple_table(rows, [("name", "Switch"), ("ip", "IP address"), ("calls", "Calls")],
                        empty="No switches yet: import some CDRs.")
