"""Groups of the ``cdr`` table's columns that several lists name together (the import's INSERT, the export's
typed columns, what a customer sees), kept in the table's order."""

# The dialled and calling party as stored: the numbers as the switch gave them and what the number plan made
# of the destination.
PARTY_COLUMNS = (
    "caller_id_number",
    "caller_id_name",
    "destination_number",
    "normalised_number",
    "dialcode",
    "country_code",
)
# Whole seconds of one call (CDR-Stats' names).
SECONDS_COLUMNS = ("duration", "billsec", "progresssec", "answersec", "waitsec")
# Prices of one call: per minute and for the call, bought from the carrier and sold to the customer.
PRICE_COLUMNS = ("buy_rate", "buy_cost", "sell_rate", "sell_cost")
