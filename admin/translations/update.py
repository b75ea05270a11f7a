"""Keeps the panel's Spanish catalog in step with the code: extracts every string marked for
translation (babel.cfg: admin/ and the plug-ins' admin pages, Python and Jinja), merges them into
es/LC_MESSAGES/messages.po (translations kept; new strings come in empty, gone ones are dropped,
changed ones are marked fuzzy) and compiles messages.mo next to it (committed: a checkout needs no
build step).

    .venv/bin/python admin/translations/update.py           # extract, merge, compile
    .venv/bin/python admin/translations/update.py --check   # exit 1 and list what lacks a translation

Then write the Spanish of each empty msgstr (and check the fuzzy ones) in messages.po and run it
again, so the .mo has them. tests/admin/test_i18n.py fails while a string lacks its translation or
the .mo is older than the .po."""
from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CONFIG = HERE / "babel.cfg"
LOCALES = ("es",)
DOMAIN = "messages"
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "lazy_ngettext": (1, 2), "lazy_pgettext": ((1, "c"), 2)}
PROJECT = "Chasqui admin panel"


def po_path(locale: str = "es") -> Path:
    return HERE / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(locale: str = "es") -> Path:
    return po_path(locale).with_suffix(".mo")


def extract() -> Catalog:
    """Every marked string of the panel (the template a .po is updated from)."""
    with CONFIG.open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    template = Catalog(project=PROJECT, charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
            ROOT, method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def read_catalog(locale: str = "es") -> Catalog:
    path = po_path(locale)
    if not path.exists():
        return Catalog(locale=locale, domain=DOMAIN, project=PROJECT)
    with path.open("rb") as handle:
        return read_po(handle, locale=locale, domain=DOMAIN)


def merged(template: Catalog, locale: str = "es") -> Catalog:
    catalog = read_catalog(locale)
    created = catalog.creation_date
    catalog.update(template, no_fuzzy_matching=False)
    catalog.creation_date = created  # a run that changes no string leaves the file as it was
    catalog.obsolete.clear()  # strings no longer in the code leave the file (git keeps their history)
    return catalog


def mo_bytes(catalog: Catalog) -> bytes:
    """The compiled catalog (fuzzy entries left out, as pybabel compile does)."""
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def untranslated(catalog: Catalog) -> list[str]:
    """The msgids without a (non-fuzzy) translation."""
    missing = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        if message.fuzzy or not all(s and s.strip() for s in strings):
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    return missing


def write(catalog: Catalog, locale: str = "es") -> None:
    path = po_path(locale)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, sort_output=False, omit_header=False, include_lineno=False)
    path.write_bytes(buffer.getvalue())
    mo_path(locale).write_bytes(mo_bytes(catalog))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; list the strings lacking a translation")
    args = parser.parse_args(argv)
    template = extract()
    status = 0
    for locale in LOCALES:
        catalog = merged(template, locale)
        missing = untranslated(catalog)
        if not args.check:
            write(catalog, locale)
            print(f"{po_path(locale).relative_to(ROOT)}: {len(catalog)} strings; "
                  f"{mo_path(locale).relative_to(ROOT)} compiled")
        if missing:
            status = 1
            print(f"{locale}: {len(missing)} without a translation (fill their msgstr in the .po, then run again):")
            for msgid in missing:
                print(f"  {msgid!r}")
    return status


if __name__ == "__main__":
    sys.exit(main())
