"""Every list pages through all its rows, and its searches and filters work; a parameter that is not
a page never gives a 500 but the first page and a notice."""
from __future__ import annotations

import html
import re

import pytest

from admin import message_search
from admin.paging import PAGE_SIZE
from tests.admin.conftest import ids_follow

LINK = re.compile(r'<a class="page-link" href="([^"]+)">([^<]+)</a>')


def pager_links(page: str) -> dict[str, str]:
    """{'Older ›': url, ...} of a page's pager."""
    return {html.unescape(label): html.unescape(url) for url, label in LINK.findall(page)}


def add_contacts(db, count: int, first_id: int = 100) -> list[int]:
    ids = list(range(first_id, first_id + count))
    db.executemany("INSERT INTO contacts (id, phone, name, domain, created_at, updated_at) "
                   "VALUES (?, ?, ?, 'running', ?, ?)",
                   [(i, f"+5198800{i:04d}", f"Corredor {i}", 1_700_100_000 + i, 1_700_100_000 + i) for i in ids])
    ids_follow(db, "contacts")
    return ids


def walk(client, url: str, forward: str, pattern: str) -> tuple[list[str], list[str]]:
    """Follow the `forward` link from `url` to the end: every page's matches of `pattern`, in order,
    and the URLs visited."""
    seen, visited = [], []
    while url:
        visited.append(url)
        page = client.get(url)
        assert page.status_code == 200, url
        seen += re.findall(pattern, page.text)
        url = pager_links(page.text).get(forward)
        assert len(visited) < 20
    return seen, visited


# --- keyset paging -----------------------------------------------------------------------------------

def test_the_contacts_list_pages_through_every_contact_newest_first(signed_in, db):
    ids = add_contacts(db, 2 * PAGE_SIZE + 7)
    every = sorted([1, 2, 3, 4, *ids], reverse=True)
    seen, visited = walk(signed_in, "/admin/contacts/", "Más antiguas ›", r'href="/admin/contacts/(\d+)"')
    assert [int(i) for i in seen] == every and len(visited) == 3
    # Back towards the newest from the last page gives the same pages, and "Newest" is the first.
    last = signed_in.get(visited[-1]).text
    back, _ = walk(signed_in, pager_links(last)["‹ Más nuevas"], "‹ Más nuevas", r'href="/admin/contacts/(\d+)"')
    assert [int(i) for i in back] == every[PAGE_SIZE:2 * PAGE_SIZE] + every[:PAGE_SIZE]
    assert pager_links(last)["« Más recientes"] == "/admin/contacts/"
    first = signed_in.get("/admin/contacts/").text
    assert "‹ Más nuevas" not in pager_links(first) and "Más antiguas ›" in pager_links(first)
    oldest = signed_in.get(pager_links(first)["Las más antiguas »"]).text
    assert [int(i) for i in re.findall(r'href="/admin/contacts/(\d+)"', oldest)] == every[-PAGE_SIZE:]


def test_filters_are_kept_across_pages(signed_in, db):
    add_contacts(db, PAGE_SIZE + 5)
    first = signed_in.get("/admin/contacts/?domain=running").text
    older = pager_links(first)["Más antiguas ›"]
    assert "domain=running" in older
    assert "+51987000003" in signed_in.get(older).text  # Lucía (running) is on the second page
    assert "+51987000001" not in signed_in.get(older).text  # agro stays filtered out


@pytest.mark.parametrize("query", ["before=abc", "before=-1", "before=0", "before=1.5",
                                   "before=99999999999999999999999", "after=%00", "before=", "page=x"])
def test_a_cursor_that_is_no_page_shows_the_first_page_with_a_notice(signed_in, query):
    for list_url in ("/admin/contacts/", "/admin/alerts/", "/admin/voice-notes/", "/admin/failures/",
                     "/admin/audit/", "/admin/conversations/search?q=maiz&", "/admin/conversations/?contact=1&"):
        url = list_url + ("" if list_url.endswith("&") else "?") + query
        page = signed_in.get(url)
        assert page.status_code == 200, url
        if query not in ("before=", "page=x"):
            assert 'id="page-notice"' in page.text and "no es una página" in page.text, url


def test_a_cursor_past_the_end_or_of_a_deleted_row_says_so(signed_in, db):
    page = signed_in.get("/admin/contacts/?before=1").text
    assert "No hay nada más antiguo" in page and "+51987000004" in page  # the first page again
    # A conversation's cursor must be one of its own messages (its time is looked up).
    other = db.insert("INSERT INTO messages (contact_id, direction, body, created_at) "
                      "VALUES (2, 'in', 'de Juan', 1700002000)")
    page = signed_in.get(f"/admin/conversations/?contact=1&before={other}").text
    assert "ya no existe" in page and "¿Cuándo riego mi maíz?" in page
    assert "ya no existe" in signed_in.get("/admin/failures/?before=999").text


def test_a_conversation_pages_back_through_older_messages_each_page_in_writing_order(signed_in, db):
    db.executemany("INSERT INTO messages (contact_id, direction, body, created_at) VALUES (2, 'in', ?, ?)",
                        [(f"mensaje número {n}", 1_700_010_000 + n) for n in range(2 * PAGE_SIZE + 3)])
    first = signed_in.get("/admin/conversations/?contact=2").text
    numbers = [int(n) for n in re.findall(r"mensaje número (\d+)", first)]
    assert numbers == list(range(PAGE_SIZE + 3, 2 * PAGE_SIZE + 3))  # the newest, oldest of them on top
    seen, visited = walk(signed_in, "/admin/conversations/?contact=2", "Más antiguas ›", r"mensaje número (\d+)")
    assert sorted(int(n) for n in seen) == list(range(2 * PAGE_SIZE + 3)) and len(visited) == 3
    assert "contact=2" in visited[-1]
    # The same time twice: the id breaks the tie, nothing is skipped or shown twice.
    db.executemany("INSERT INTO messages (contact_id, direction, body, created_at) VALUES (3, 'in', ?, 1700020000)",
                        [(f"igual {n}",) for n in range(PAGE_SIZE + 1)])
    seen, _ = walk(signed_in, "/admin/conversations/?contact=3", "Más antiguas ›", r"igual (\d+)")
    assert sorted(int(n) for n in seen) == list(range(PAGE_SIZE + 1))


def test_the_alerts_list_pages_and_filters(signed_in, db):
    db.executemany(
        "INSERT INTO alerts (contact_id, message, level, status, next_attempt_at, created_at, kind, delivery_status) "
        "VALUES (1, ?, ?, 'sent', 0, ?, ?, ?)",
        [(f"aviso {n}", ("baja", "alta")[n % 2], 1_700_000_000 + n, ("alert", "reply")[n % 3 == 0],
          ("read", None)[n % 2]) for n in range(PAGE_SIZE + 10)])
    seen, _ = walk(signed_in, "/admin/alerts/", "Más antiguas ›", r"aviso (\d+)")
    assert sorted(int(n) for n in seen) == list(range(PAGE_SIZE + 10))
    alta = signed_in.get("/admin/alerts/?level=alta").text
    assert "Helada esta noche" in alta and all(int(n) % 2 == 1 for n in re.findall(r"aviso (\d+)", alta))
    replies = re.findall(r"aviso (\d+)", signed_in.get("/admin/alerts/?kind=reply&level=baja").text)
    assert replies and all(int(n) % 3 == 0 and int(n) % 2 == 0 for n in replies)
    read = re.findall(r"aviso (\d+)", signed_in.get("/admin/alerts/?delivery=read").text)
    assert read and all(int(n) % 2 == 0 for n in read)
    none = signed_in.get("/admin/alerts/?delivery=none&status=failed").text
    assert "Helada esta noche" in none and not re.search(r"aviso \d", none)
    assert sorted(re.findall(r"aviso (\d+)<", signed_in.get("/admin/alerts/?q=aviso+5").text)) == ["5", "50", "51", "52",
                                                                                            "53", "54", "55", "56",
                                                                                            "57", "58", "59"]
    refused = signed_in.get("/admin/alerts/?level=urgente&kind=<b>")
    assert refused.status_code == 200 and "no es un valor de «level» para filtrar" in refused.text and "<b>" not in refused.text


def test_the_conversations_list_orders_by_last_activity_and_pages_by_number(signed_in, db):
    add_contacts(db, PAGE_SIZE + 5)
    db.execute("INSERT INTO messages (contact_id, direction, body, created_at) VALUES (3, 'in', 'hola', 1800000000)")
    first = signed_in.get("/admin/conversations/").text
    order = re.findall(r'href="/admin/conversations/\?contact=(\d+)"', first)
    assert order[:2] == ["3", "1"]  # most recently active first; then contacts without messages
    assert "Página 1 de 2" in first and ">3</td>" in first  # Rosa's three messages are counted
    second = signed_in.get(pager_links(first)["Siguiente ›"]).text
    assert "Página 2 de 2" in second and "Siguiente ›" not in pager_links(second)
    rest = re.findall(r'href="/admin/conversations/\?contact=(\d+)"', second)
    assert len(order) + len(rest) == 4 + PAGE_SIZE + 5 and not set(order) & set(rest)
    for bad in ("page=0", "page=-3", "page=abc", "page=99", "page=" + "9" * 30):
        page = signed_in.get(f"/admin/conversations/?{bad}")
        assert page.status_code == 200 and 'id="page-notice"' in page.text and "Página 1 de 2" in page.text, bad
    assert re.findall(r'contact=(\d+)"', signed_in.get("/admin/conversations/?q=rosa").text) == ["1"]


def test_the_forms_knowledge_and_accounts_lists_have_numbered_pages(signed_in, db):
    db.executemany("INSERT INTO knowledge (domain, title, body, source, updated_at) VALUES (NULL, ?, 'x', 's', ?)",
                        [(f"Entrada {n}", 1_600_000_000 + n) for n in range(PAGE_SIZE)])
    first = signed_in.get("/admin/knowledge/").text
    assert "Página 1 de 2" in first
    assert "Entrada" in signed_in.get(pager_links(first)["Última »"]).text
    assert "Page 1 of 1" not in signed_in.get("/admin/forms/").text  # one page: no pager
    assert signed_in.get("/admin/users/?page=7").status_code == 200


# --- searches ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["maiz", "MAÍZ", "maíz", "riego maiz", "rieg*", "cuando"])
def test_searching_all_messages_folds_accents_and_marks_the_hits(signed_in, query):
    page = signed_in.get("/admin/conversations/search", query_string={"q": query}).text
    assert "+51987000001" in page and "Rosa Quispe" in page
    assert '<mark class="chasqui-hit">' in page
    assert "/admin/conversations/?contact=1&amp;at=1#message-1" in page  # its place in the conversation


def test_every_word_must_appear_and_markup_in_messages_stays_text(signed_in):
    assert "Ningún mensaje tiene estas palabras" in signed_in.get("/admin/conversations/search?q=maiz+helada").text
    page = signed_in.get("/admin/conversations/search?q=gracias").text
    assert "&lt;script&gt;" in page and "<script>alert" not in page


@pytest.mark.parametrize("query", ['"', "AND OR NOT", "body:x", "*", "¿?", "NEAR(a b)", "a" * 500, "k1"])
def test_a_search_with_fts_syntax_or_no_words_is_never_an_error(signed_in, query):
    for url, args in (("/admin/conversations/search", {}), ("/admin/conversations/", {"contact": "1"}),
                      ("/admin/knowledge/", {})):
        response = signed_in.get(url, query_string={"q": query, **args})
        assert response.status_code == 200, (url, query)
    assert "Escriba una palabra" in signed_in.get("/admin/conversations/search?q=%C2%BF%3F").text


def test_searching_one_conversation_finds_only_its_messages(signed_in, db):
    db.execute("INSERT INTO messages (contact_id, direction, body, created_at) VALUES (2, 'in', 'mi maíz amarillo', 1700003000)")
    rosa = signed_in.get("/admin/conversations/?contact=1&q=maiz").text
    juan = signed_in.get("/admin/conversations/?contact=2&q=maiz").text
    assert "riego" in rosa and "amarillo" not in rosa
    assert "amarillo" in juan and "riego" not in juan
    assert "Ningún mensaje de esta conversación" in signed_in.get("/admin/conversations/?contact=3&q=maiz").text
    in_context = signed_in.get("/admin/conversations/?contact=1&at=2").text  # the reply, newest on its page
    assert "Riega el jueves" in in_context and "gracias" not in in_context


@pytest.mark.parametrize("window", [2000, 7])  # PostgreSQL: the first read finds the page, or the index the rest
def test_a_search_pages_through_every_hit_newest_first_both_ways(signed_in, db, monkeypatch, window):
    monkeypatch.setattr(message_search, "WINDOW", window)
    db.executemany("INSERT INTO messages (contact_id, direction, body, created_at) VALUES (2, 'in', ?, ?)",
                   [(f"quinua {n}" if n % 3 == 0 else f"otra cosa {n}", 1_700_010_000 + n) for n in range(6 * PAGE_SIZE)])
    every = list(range(6 * PAGE_SIZE - 3, -1, -3))  # 2 * PAGE_SIZE hits, newest first
    hit = r'chasqui-hit">quinua</mark> (\d+)'
    seen, visited = walk(signed_in, "/admin/conversations/search?q=quinua", "Más antiguas ›", hit)
    assert [int(n) for n in seen] == every and len(visited) == 2
    back, _ = walk(signed_in, pager_links(signed_in.get(visited[-1]).text)["‹ Más nuevas"], "‹ Más nuevas", hit)
    assert [int(n) for n in back] == every[:PAGE_SIZE]
    oldest = signed_in.get(pager_links(signed_in.get(visited[0]).text)["Las más antiguas »"]).text
    assert [int(n) for n in re.findall(hit, oldest)] == every[-PAGE_SIZE:]
    # Within the conversation, the same hits.
    seen, _ = walk(signed_in, "/admin/conversations/?contact=2&q=QUINUA", "Más antiguas ›", hit)
    assert sorted((int(n) for n in seen), reverse=True) == every


def test_contacts_filter_by_domain_onboarding_and_opt_out_and_search_without_accents(signed_in):
    def phones(query: str) -> set[str]:
        return set(re.findall(r">(\+5198700000\d)<", signed_in.get(f"/admin/contacts/?{query}").text))

    assert phones("domain=agro") == {"+51987000001", "+51987000002", "+51987000004"}
    assert phones("onboarding=pending") == {"+51987000003"}
    assert phones("onboarding=done&domain=agro&opted_out=no") == {"+51987000001", "+51987000002"}
    assert phones("opted_out=yes") == {"+51987000004"}
    assert phones("q=lucia") == {"+51987000003"}  # "Lucía"
    assert phones("q=987+000+002") == {"+51987000002"}
    refused = signed_in.get("/admin/contacts/?domain=nope&onboarding=maybe")
    assert refused.status_code == 200 and "no es un valor de «domain» para filtrar" in refused.text
    assert len(re.findall(r">(\+5198700000\d)<", refused.text)) == 4


def test_knowledge_is_searched_with_its_index_and_filtered_by_domain(signed_in, db):
    db.execute("INSERT INTO knowledge (domain, title, body, source, updated_at) VALUES (NULL, 'Helada', "
               "'Cubre las plantas', 'admin', 1700000000)")
    assert "Riego del maíz" in signed_in.get("/admin/knowledge/?q=maiz").text
    assert "Riego del maíz" not in signed_in.get("/admin/knowledge/?q=plantas").text
    assert "Riego del maíz" in signed_in.get("/admin/knowledge/?q=DEL").text  # a stop word alone (PostgreSQL)
    assert "Helada" in signed_in.get("/admin/knowledge/?domain=-").text
    agro = signed_in.get("/admin/knowledge/?domain=agro").text
    assert "Riego del maíz" in agro and "Cubre las plantas" not in agro
