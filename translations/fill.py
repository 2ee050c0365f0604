"""Write translations into the catalogs: ``python translations/fill.py FILE.tsv``.

Each line of the TSV file is ``msgid<TAB>de<TAB>es<TAB>fr<TAB>it<TAB>pt<TAB>ru`` (tabs and newlines inside a
message written as ``\\t`` and ``\\n``; a plural message is keyed by its singular, its forms split by ``||``).
English catalogs get the msgid itself. Only messages the template (messages.pot) has are written; an existing
translation is replaced. Made for batches of new messages after ``make translations``; a translator may as well
edit the .po files directly.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

FOLDER = Path(__file__).resolve().parent
COLUMNS = ("de", "es", "fr", "it", "pt", "ru")


def unescape(text: str) -> str:
    return text.replace("\\t", "\t").replace("\\n", "\n")


def load(tsv: Path) -> dict[str, dict[str, str]]:
    table = {}
    for number, line in enumerate(tsv.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        msgid, *texts = line.split("\t")
        if len(texts) != len(COLUMNS):
            raise SystemExit(f"{tsv}:{number}: {len(texts)} translations, {len(COLUMNS)} wanted")
        table[unescape(msgid)] = dict(zip(COLUMNS, map(unescape, texts), strict=True))
    return table


def fill(table: dict[str, dict[str, str]]) -> None:
    for po_path in sorted(FOLDER.glob("*/LC_MESSAGES/messages.po")):
        language = po_path.parent.parent.name
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=language)
        for message in catalog:
            if not message.id:
                continue
            key = message.id if isinstance(message.id, str) else message.id[0]
            if language == "en":
                message.string = message.id if isinstance(message.id, str) else tuple(message.id)
            elif key in table:
                text = table[key][language]  # a plural's forms, in the language's order, split by "||"
                message.string = tuple(text.split("||")) if isinstance(message.id, tuple) else text
            message.flags.discard("fuzzy")
        catalog.fuzzy = False  # the header, marked fuzzy by ``pybabel init``: gettext would skip the catalog
        with po_path.open("wb") as po_file:
            write_po(po_file, catalog, sort_output=True, width=120)


if __name__ == "__main__":
    fill({k: v for path in sys.argv[1:] for k, v in load(Path(path)).items()})
