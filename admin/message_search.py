"""Searching messages from the panel with the messages_fts index (FTS5, unicode61 with diacritics
removed: "maiz" finds "maíz", "MAIZ" too).

Every word must appear (AND, not the OR of the bot's recall), each as typed, quoted so no FTS
syntax gets through; a word ending in * is a prefix ("rieg*" finds riego, riegos, riegue). Within
one conversation the query also names the contact's token (`contact : k12`, as
backend/conversation.py's recall does): FTS5 intersects with that contact's short doclist.
Results come newest first (ORDER BY rowid DESC, which FTS5 walks without sorting) and page by
rowid, so a word in ~20% of a million messages is a 12 ms page, a prefix 22 ms, not a ranking of
all (bench/admin_lists.py).

PostgreSQL reads the same words through its GIN index on to_tsvector('spanish', body): every word
ANDed in one to_tsquery (stemmed by PostgreSQL, so a word also finds its other forms; `word:*` for
a trailing *), ts_headline marks the hits, and pages are keyed by m.id, newest first (read in two
steps across all messages: _AllMessages). Its Spanish configuration indexes no stop words ("cuando",
"de"): beside other words they are left out; a search of stop words alone matches them in the
folded body (a scan from the newest) and marks them here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from admin.paging import Keyset
from backend.store.database import Database
from backend.text import fold

MAX_WORDS = 8
HIT_START, HIT_END = "\ue000", "\ue001"  # private-use characters around each hit in a snippet
SNIPPET_TOKENS = 16
_WORD = re.compile(r"\w+\*?")


def words_query(text: str) -> str | None:
    """Every word of a search box's text, quoted, ANDed (also for knowledge_fts); None: no word."""
    words = _WORD.findall(text or "")[:MAX_WORDS]
    if not words:
        return None
    return " AND ".join(f'"{w.rstrip("*")}"' + ("*" if w.endswith("*") else "") for w in words)


def match_query(text: str, contact_id: int | None = None) -> str | None:
    """The MATCH expression over messages_fts; None when the text has no word to look for."""
    words = words_query(text)
    if words is None:
        return None
    query = f"body : ({words})"
    return query if contact_id is None else f"contact : k{int(contact_id)} AND {query}"


SELECT_HITS = (
    "SELECT m.id AS id, m.contact_id, m.direction, m.source, m.created_at, c.phone, c.name, "
    f"snippet(messages_fts, 0, '{HIT_START}', '{HIT_END}', '…', {SNIPPET_TOKENS}) AS snippet "
    "FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid JOIN contacts c ON c.id = m.contact_id")
WHERE_MATCH = "messages_fts MATCH ?"
KEYSET_COLUMN = "messages_fts.rowid"


# PostgreSQL: ts_headline stands for SQLite's snippet(): a short message whole, a long one as a
# fragment of about SNIPPET_TOKENS words around its hits. It reads its text as HTML and would drop
# the tags ("<script>" vanished from the snippet), so '<' goes in as a private-use stand-in and
# comes back in Search.parts.
LT_STAND_IN = "\ue002"
SHORT_MESSAGE_CHARS = 100  # about SNIPPET_TOKENS words
_MARKS = f'StartSel="{HIT_START}", StopSel="{HIT_END}"'
_TEXT = f"replace(m.body, '<', '{LT_STAND_IN}')"
_HEADLINE = (f"CASE WHEN length(m.body) <= {SHORT_MESSAGE_CHARS} "
             f"THEN ts_headline('spanish', {_TEXT}, {{query}}, '{_MARKS}, HighlightAll=true') "
             f"ELSE ts_headline('spanish', {_TEXT}, {{query}}, '{_MARKS}, "
             f"MaxWords={SNIPPET_TOKENS}, MinWords={SNIPPET_TOKENS // 2}, MaxFragments=1') END")
# The expressions of the GIN indexes, written exactly as backend/store/dialects.py creates them.
MESSAGE_VECTOR = "to_tsvector('spanish', m.body)"
KNOWLEDGE_VECTOR = "to_tsvector('spanish', k.title || ' ' || k.body)"
_PG_WORD = re.compile(r"[^\W_]+\*?")  # letters and digits: no tsquery syntax (nor _, a separator there)


@dataclass(frozen=True)
class Search:
    """A search box's text as this engine's query over messages: keyset_page(db, select, where,
    params, keyset) reads the hits, and `parts` marks them in each row's snippet."""
    select: str
    where: list[str]
    params: list
    keyset: Keyset
    unindexed: tuple[tuple[str, bool], ...] = ()  # PostgreSQL: stop words searched alone, marked here
    headline: bool = False  # PostgreSQL's ts_headline, with its stand-in for '<'

    def parts(self, snippet: str) -> list[tuple[str, bool]]:
        if self.headline:
            snippet = (snippet or "").replace(LT_STAND_IN, "<")
        return snippet_parts(snippet, self.unindexed)


def message_search(db: Database, text: str, contact_id: int | None = None) -> Search | None:
    """The hits of every word of `text` (in one conversation, or all); None: the text has no word."""
    if db.dialect != "postgresql":
        match = match_query(text, contact_id)
        return None if match is None else Search(SELECT_HITS, [WHERE_MATCH], [match], Keyset(KEYSET_COLUMN))
    words = postgresql_words(db, text, MESSAGE_VECTOR, "m.body")
    if words is None:
        return None
    where, params = list(words.where), list(words.params)
    if contact_id is not None:
        where.append("m.contact_id = ?")
        params.append(contact_id)
    query = "to_tsquery('spanish', ?)" if words.tsquery else "CAST('' AS tsquery)"
    columns = ("m.id AS id, m.contact_id, m.direction, m.source, m.created_at, c.phone, c.name, "
               f"{_HEADLINE.format(query=query)} AS snippet")
    column_params = [words.tsquery] * 2 if words.tsquery else []
    # One conversation: the planner reads the contact's messages (messages_by_contact_time), few.
    # Stop words alone have no index: the primary key, newest first, until a page is found.
    plain = contact_id is not None or not words.tsquery
    keyset = Keyset("m.id") if plain else Keyset("m.id", read=_AllMessages(columns, column_params, where, params).read)
    # The select's own parameters come first: keyset_page passes `params` in the order the SQL reads them.
    return Search(f"SELECT {columns} FROM messages m JOIN contacts c ON c.id = m.contact_id", where,
                  column_params + params, keyset, words.unindexed, headline=True)


# How many of the newest messages a page of hits is first looked for in (see _AllMessages).
WINDOW = 2000


@dataclass(frozen=True)
class _AllMessages:
    """A page of hits among all messages on PostgreSQL, newest first (or oldest first), in two
    reads whose cost is bounded whatever the planner believes. Left to itself, it walks the primary
    key backwards and computes to_tsvector for each message until a page is found (12 µs each): a
    word in 18% of a million messages is a 12 ms page, but one its statistics take for common and is
    not (in 0 or 100 of them) read every message: 12 to 18 s. So: the WINDOW messages next in order
    are read on the primary key and checked; a word that did not fill the page there is rare, and
    the rest comes from the GIN index alone (ordered by m.id + 0, an order the primary key cannot
    give), in time proportional to its hits. Measured on 1,000,000 messages (bench/seed_data.py, 100
    of them given a rare word): a page of a word in 18% of them 6 to 15 ms, of two words in 3% 40 to
    55 ms, of the rare word 25 to 95 ms, of a word in none 80 ms."""
    columns: str
    column_params: list
    where: list[str]
    params: list

    def read(self, db: Database, cursor: list[str], cursor_params: list, descending: bool,
             limit: int) -> list[dict]:
        order = "DESC" if descending else "ASC"
        window = (f"SELECT m.id FROM messages m{' WHERE ' + ' AND '.join(cursor) if cursor else ''} "
                  f"ORDER BY m.id {order} LIMIT {WINDOW}")
        hits = " AND ".join(self.where)
        rows = list(db.query(
            f"SELECT {self.columns} FROM ({window}) w JOIN messages m ON m.id = w.id "
            f"JOIN contacts c ON c.id = m.contact_id WHERE {hits} ORDER BY m.id {order} LIMIT ?",
            [*self.column_params, *cursor_params, *self.params, limit]))
        if len(rows) == limit:
            return rows
        edge, counted = db.execute(f"SELECT {'MIN' if descending else 'MAX'}(id), COUNT(*) FROM ({window}) w",
                                   cursor_params).fetchone()
        if counted < WINDOW:  # the window held every message left
            return rows
        rest = db.query(
            f"SELECT {self.columns} FROM messages m JOIN contacts c ON c.id = m.contact_id "
            f"WHERE {hits} AND m.id {'<' if descending else '>'} ? ORDER BY m.id + 0 {order} LIMIT ?",
            [*self.column_params, *self.params, edge, limit - len(rows)])
        return rows + list(rest)


@dataclass(frozen=True)
class KnowledgeSearch:
    """Knowledge entries with every word, best first (as the assistant finds them): SELECT … FROM
    `source` WHERE `where` ORDER BY `order`, with `params` then `order_params`."""
    source: str
    where: list[str]
    params: list
    order: str
    order_params: list


def knowledge_search(db: Database, text: str) -> KnowledgeSearch | None:
    if db.dialect != "postgresql":
        match = words_query(text)
        return None if match is None else KnowledgeSearch("knowledge_fts f JOIN knowledge k ON k.id = f.rowid",
                                                          ["knowledge_fts MATCH ?"], [match], "f.rank, k.id", [])
    words = postgresql_words(db, text, KNOWLEDGE_VECTOR, "k.title || ' ' || k.body")
    if words is None:
        return None
    if not words.tsquery:  # stop words only: nothing to rank by
        return KnowledgeSearch("knowledge k", words.where, words.params, "k.id", [])
    # ranked as backend/conversation.py's search_knowledge ranks them
    return KnowledgeSearch("knowledge k", words.where, words.params,
                           f"ts_rank({KNOWLEDGE_VECTOR}, to_tsquery('spanish', ?)) DESC, k.id", [words.tsquery])


@dataclass(frozen=True)
class PostgresqlWords:
    where: list[str]   # the conditions every row must meet (ANDed)
    params: list
    tsquery: str | None  # to_tsquery('spanish', …) of the words, for ranking and headlines
    unindexed: tuple[tuple[str, bool], ...]  # stop words alone: (folded word, is a prefix), to mark


def postgresql_words(db: Database, text: str, vector: str, column: str) -> PostgresqlWords | None:
    """Every word of `text` as conditions on `vector` (a GIN-indexed to_tsvector); None when the
    text has no word. The words are the user's own, lower-cased: PostgreSQL's stemmer strips acute
    accents itself and keeps ñ. Stop words are in no index: beside other words they are left out,
    as PostgreSQL's own search leaves them (a regular expression for "de" would narrow nothing and
    cost 1.5 s over a million messages); alone, each must appear in fold(`column`), a scan."""
    words = [(w.rstrip("*"), w.endswith("*")) for w in _PG_WORD.findall((text or "").lower())][:MAX_WORDS]
    if not words:
        return None
    # One round trip says which words Spanish drops as stop words (to_tsvector gives them nothing),
    # as typed or without accents: "cuándo" is indexed but "cuando", a stop word, is not.
    stop = db.execute("SELECT " + ", ".join(["length(to_tsvector('spanish', ?)) * length(to_tsvector('spanish', ?)) "
                                             "= 0"] * len(words)),
                      [form for w, _ in words for form in (w, fold(w))]).fetchone()
    indexed = [(w, prefix) for (w, prefix), dropped in zip(words, stop) if not dropped]
    if indexed:
        tsquery = " & ".join(w + (":*" if prefix else "") for w, prefix in indexed)
        return PostgresqlWords([f"{vector} @@ to_tsquery('spanish', ?)"], [tsquery], tsquery, ())
    unindexed = tuple((fold(w), prefix) for w, prefix in words)
    where, params = [], []
    for word, prefix in unindexed:  # \m, \M: the start and end of a word in PostgreSQL's regular expressions
        where.append(f"fold({column}) ~ ?")
        params.append(f"\\m{word}" + ("" if prefix else "\\M"))
    return PostgresqlWords(where, params, None, unindexed)


def snippet_parts(snippet: str, unindexed: tuple[tuple[str, bool], ...] = ()) -> list[tuple[str, bool]]:
    """A snippet as (text, is_a_hit) pieces: the template escapes each and marks the hits.
    `unindexed`: words the engine did not mark (PostgreSQL's stop words), marked here."""
    parts, hit = [], False
    for piece in re.split(f"([{HIT_START}{HIT_END}])", snippet or ""):
        if piece == HIT_START:
            hit = True
        elif piece == HIT_END:
            hit = False
        elif piece:
            parts.append((piece, hit))
    if unindexed:
        parts = [marked for text, hit in parts for marked in ([(text, True)] if hit else _marked(text, unindexed))]
    return parts


def _marked(text: str, words: tuple[tuple[str, bool], ...]) -> list[tuple[str, bool]]:
    # Folded one character for one, so that a match's place in the folded text is its place in `text`.
    folded = "".join(f if len(f := fold(c)) == 1 else c for c in text)
    found = re.compile("|".join(rf"(?<!\w){re.escape(w)}" + (r"\w*" if prefix else r"(?!\w)") for w, prefix in words))
    pieces, at = [], 0
    for hit in found.finditer(folded):
        if hit.start() > at:
            pieces.append((text[at:hit.start()], False))
        pieces.append((text[hit.start():hit.end()], True))
        at = hit.end()
    if at < len(text):
        pieces.append((text[at:], False))
    return pieces
