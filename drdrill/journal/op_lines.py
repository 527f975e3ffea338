"""Bulk parsing of compact op lines with Arrow's CSV reader.

Why not a JSON parser: a 10-million-op journal is about 1.4 GB of JSON lines. orjson costs a
Python call per line, and pyarrow.json parses about 140 MB/s on a 2-core virtual machine: both
take longer than `drdrill report` may. Op lines, though, are regular. The journal writer emits
them with orjson, compact, keys in the order of docs/journal.md:

    {"k":"op","p":"pg-write","s":17,"d":100,"i":101,"c":140,"o":"ok","e":null,"r":"x","v":null}

Once its first `{`, every `:` and its last `}` become `,` the line is a CSV row: an empty
column, then key and value columns in turn (strings quoted, integers bare, `null` for null),
then an empty column. Arrow tokenizes that in C++, dictionary-encodes the strings and converts
the integers, about three times as fast as its JSON reader. Commas and braces in strings are
harmless (CSV quoting); keys after `v` (a DNS op's `a` and `ttl`) are cut off and handed back
to the caller as JSON text, parsed apart (they are few).

Why it is exact: every line must hold ten colons, each right after its key (`"p":`, `"s":`, ...
in order; checked here with numpy, before the CSV read), every row must have exactly 22
columns, every integer column must parse as an integer, and no string value may hold a
backslash (CSV does not undo JSON escapes, so an escaped string always leaves one). A block
with a line that does not fit (a name holding a colon or an escape, another key order, a
float) is refused, and the caller parses it with orjson, slower but exact.
"""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
from numpy.lib.stride_tricks import sliding_window_view

logger = logging.getLogger(__name__)

OP_PREFIX = b'{"k":"op",'
OP_KEYS = ("k", "p", "s", "d", "i", "c", "o", "e", "r", "v")
VALUE_KEYS = OP_KEYS[1:]
INT_KEYS = frozenset({"s", "d", "i", "c", "v"})

_COLON = ord(":")
_COMMA = ord(",")
_NEWLINE = ord("\n")
# Bytes after `v`'s colon searched for the comma that ends its value (null or an integer).
_V_WINDOW = 24
_QUOTE = ord('"')
# The letter of each key, in order: the byte two before each of a line's colons.
_KEY_LETTERS = np.frombuffer("".join(OP_KEYS).encode(), dtype=np.uint8)

# x0 is empty (from `{`), then key/value pairs, then x21 is empty (from `}`). Only the value
# columns are converted: the keys were checked before the read, and `k` is `op` by the prefix.
_NAMES = [f"x{n}" for n in range(2 * len(OP_KEYS) + 2)]
_VALUE_COLUMNS = dict(zip(VALUE_KEYS, _NAMES[4:-1:2], strict=True))


def _column_types() -> dict[str, pa.DataType]:
    strings = pa.dictionary(pa.int32(), pa.string())
    return {name: pa.int64() if key in INT_KEYS else strings
            for key, name in _VALUE_COLUMNS.items()}


# One thread per block: the reader parses two blocks at once (`blocks`), one per core, and
# Arrow's own threads would only compete with the other block.
_READ_OPTIONS = pa_csv.ReadOptions(column_names=_NAMES, block_size=4 << 20, use_threads=False)
_PARSE_OPTIONS = pa_csv.ParseOptions(
    delimiter=",", quote_char='"', double_quote=False, escape_char=False,
    newlines_in_values=False, ignore_empty_lines=True)
_CONVERT_OPTIONS = pa_csv.ConvertOptions(
    column_types=_column_types(), include_columns=list(_VALUE_COLUMNS.values()),
    null_values=["null"], strings_can_be_null=True, quoted_strings_can_be_null=False,
    check_utf8=False)


def to_csv_rows(rows: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                mask: np.ndarray) -> list[tuple[int, bytes]] | None:
    """Turn the op lines `[starts, ends)` of `rows` into CSV rows, in place.

    `{` and `}` are the first and last bytes of each line (the caller checked), so they are
    replaced where they stand; the colons are found with one pass over the block. Keys after
    `v` are cut off first. `mask` is a reusable bool buffer as long as `rows` (fresh memory is
    costly to touch on virtual machines).

    Returns the keys cut off, as (index of the line among `starts`, a JSON object's text), or
    None when a line's keys are not those of an op in order: the block must be parsed line by
    line.
    """
    rows[starts] = _COMMA
    rows[ends - 1] = _COMMA
    colons = np.flatnonzero(np.equal(rows, _COLON, out=mask))
    per_line = len(OP_KEYS)
    if len(colons) == per_line * len(starts):
        line_colons = colons.reshape(-1, per_line)
        # With as many colons as ten per line, every line has ten iff each line's first and
        # tenth fall inside it.
        if not (np.all(line_colons[:, 0] > starts) and np.all(line_colons[:, -1] < ends)):
            return None
        extras: list[tuple[int, bytes]] = []
    else:
        cut = _cut_keys_after_v(rows, colons, starts, ends)
        if cut is None:
            return None
        line_colons, extras = cut

    if not _keys_in_place(rows, line_colons):
        return None
    rows[line_colons.ravel()] = _COMMA
    return extras


def _keys_in_place(rows: np.ndarray, line_colons: np.ndarray) -> bool:
    """True when each line's colons end `"k":`, `"p":` ... `"v":` in turn.

    Checks the key's letter and the quote that opens it; the quote that closes it is implied
    (a colon inside a string would be preceded by an escaped quote, which the escape check
    after the CSV read refuses). Two byte gathers: an unaligned word gather costs more.
    """
    return bool(np.all(np.take(rows, line_colons - 2) == _KEY_LETTERS)
                and np.all(np.take(rows, line_colons - 3) == _QUOTE))


def _cut_keys_after_v(rows: np.ndarray, colons: np.ndarray, starts: np.ndarray,
                      ends: np.ndarray) -> tuple[np.ndarray, list[tuple[int, bytes]]] | None:
    """Blank (to newlines) what follows the `v` value of lines with more than ten keys.

    The row then ends with `v`'s value and a comma, so it has the 22 columns of a plain op.
    Returns each line's first ten colons (lines x 10) and what was cut, as (line index,
    `{...}` text of the keys after `v`); None when a line holds fewer than ten colons.
    """
    first = np.searchsorted(colons, starts)
    counts = np.searchsorted(colons, ends) - first
    if np.any(counts < len(OP_KEYS)):
        return None

    line_colons = colons[first[:, None] + np.arange(len(OP_KEYS))]
    longer = np.flatnonzero(counts > len(OP_KEYS))

    # `v` is the tenth key: its value ends at the first comma after its colon (an integer or
    # null holds none). A value longer than the window is left alone and refused later.
    v_colons = line_colons[longer, -1]
    line_ends = ends[longer]
    at = np.minimum(v_colons + 1, len(rows) - _V_WINDOW)
    commas = sliding_window_view(rows, _V_WINDOW)[at] == _COMMA
    cut = at + np.argmax(commas, axis=1) + 1
    ok = commas.any(axis=1) & (cut < line_ends)
    # The tail ends with the line's closing brace, already turned into a comma.
    cut_off = [(int(line), b"{" + rows[start:end - 1].tobytes() + b"}")
               for line, start, end in zip(longer[ok].tolist(), cut[ok].tolist(),
                                           line_ends[ok].tolist(), strict=True)]
    rows[_expand(cut[ok], line_ends[ok] - cut[ok])] = _NEWLINE
    return line_colons, cut_off


def _expand(firsts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The indices of the ranges [first, first + length), concatenated."""
    offsets = np.cumsum(lengths) - lengths
    indices: np.ndarray = np.repeat(firsts - offsets, lengths) + np.arange(int(lengths.sum()))
    return indices


def parse_op_block(rows: np.ndarray, expected: int) -> pa.Table | None:
    """Parse `expected` op rows prepared by `to_csv_rows` (other lines blanked to newlines).

    Returns a table with one column per key of VALUE_KEYS (strings dictionary-encoded), or None
    when the block is not in the expected shape and must be parsed line by line.
    """
    try:
        table = pa_csv.read_csv(pa.py_buffer(rows), read_options=_READ_OPTIONS,
                                parse_options=_PARSE_OPTIONS, convert_options=_CONVERT_OPTIONS)
    except pa.ArrowInvalid as exc:
        logger.debug("op block not in compact form, parsing it with orjson error=%s", exc)
        return None

    if table.num_rows != expected:
        logger.debug("op block rows missing, parsing it with orjson rows=%d expected=%d",
                     table.num_rows, expected)
        return None

    values = table.rename_columns(list(VALUE_KEYS))
    if _has_escapes(values):
        logger.debug("op block holds JSON escapes, parsing it with orjson")
        return None
    return values


def _has_escapes(values: pa.Table) -> bool:
    """True when a string value holds a backslash, i.e. the JSON line held an escape.

    CSV keeps backslashes as they are, so an escaped JSON string always leaves one in its value
    (or breaks the row, which the CSV read refuses). Only the few distinct values are checked.
    """
    for key in VALUE_KEYS:
        if key in INT_KEYS:
            continue
        for chunk in values.column(key).chunks:
            if any("\\" in value for value in chunk.dictionary.to_pylist()):
                return True
    return False
