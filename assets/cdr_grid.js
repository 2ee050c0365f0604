/* CDR search: open the focused row's detail with Enter or Space (the grid's cells are focusable; the
   arrow keys move between them). The row id goes to the cdr-search-open-row store; a callback opens it. */
document.addEventListener('keydown', function (event) {
    if (event.key !== 'Enter' && event.key !== ' ') { return; }
    const cell = event.target.closest && event.target.closest('#cdr-search-grid .ag-cell');
    if (!cell || !window.dash_clientside || !window.dash_clientside.set_props) { return; }
    const row = cell.closest('.ag-row');
    const id = row && row.getAttribute('row-id');
    if (!id) { return; }
    event.preventDefault();
    window.dash_clientside.set_props('cdr-search-open-row', {data: {id: id, at: Date.now()}});
});
