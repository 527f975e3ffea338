"""Lost writes, info survived or vanished, duplicates, unexpected rows, split-brain."""

from __future__ import annotations

import numpy as np
from histories import final_read, header, inject, journal, op, probe, step, store, ticks

from drdrill.journal.reader import Journal
from drdrill.measure.classify import split_by_probe
from drdrill.measure.facts import FinalRead, gather_facts
from drdrill.measure.writes import StoreWrites, presence, present_seqs, seq_ranges, store_writes

PROMOTES = [{"store": "pg-write", "from": "primary", "to": "secondary"}]


def writes_of(j: Journal, name: str = "pg-write") -> StoreWrites:
    facts = gather_facts(j)
    ops = split_by_probe(j.ops)[name]
    read = facts.final_reads.get(name)
    return store_writes(ops, name, read, presence(ops, read), facts.steps)


def base(*records: dict | list) -> Journal:  # type: ignore[type-arg]
    return journal(header([probe("pg-write")], [store("pg-write")]), inject(0), *records)


def test_late_gap_is_not_lost_and_a_row_inside_it_is_unexpected() -> None:
    # Ticks 5..7 were skipped (`late`); seq 6 is nevertheless on the new primary.
    j = base(ticks("pg-write", 0, 5),
             {"k": "late", "p": "pg-write", "from": 5, "to": 7, "t": 1},
             ticks("pg-write", 800, 5, first_seq=8),
             final_read("pg-write", [[0, 4], [6, 6], [8, 12]]))

    assert writes_of(j) == StoreWrites(acked=10, info_total=0, split_brain_writes=0,
                                       lost_writes=0, lost_ranges=[], info_survived=0,
                                       info_vanished=0, duplicates=0, unexpected=1)


def test_more_rows_than_acked_counts_info_survived_and_vanished() -> None:
    # seqs 0..5 ok, 6 and 7 info, 8 ok; the read holds 0..6 and 8: 6 survived, 7 vanished.
    j = base(ticks("pg-write", 0, 6), op("pg-write", 6, 600, 1600, o="info", e="timeout"),
             op("pg-write", 7, 1600, 2600, o="info", e="conn_lost"),
             op("pg-write", 8, 2600, 2605), final_read("pg-write", [[0, 6], [8, 8]]))

    assert writes_of(j) == StoreWrites(acked=7, info_total=2, split_brain_writes=0,
                                       lost_writes=0, lost_ranges=[], info_survived=1,
                                       info_vanished=1, duplicates=0, unexpected=0)


def test_duplicates_count_extra_copies() -> None:
    # seq 3 twice (one extra copy), seq 5 three times (two extra).
    j = base(ticks("pg-write", 0, 8), final_read("pg-write", [[0, 7]], dups=[[3, 2], [5, 3]]))

    assert writes_of(j).duplicates == 3


def test_lost_ranges_group_consecutive_seqs_and_a_present_fail_is_unexpected() -> None:
    # 0..20 written, 4 failed; present: 0..9, 13..14, 18..20, and 22 never attempted.
    # lost: 10..12 and 15..17; unexpected: 4 (failed yet present) and 22.
    records = ticks("pg-write", 0, 21)
    records[4] = op("pg-write", 4, 400, 402, o="fail", e="refused")
    j = base(records, final_read("pg-write", [[0, 9], [13, 14], [18, 20], [22, 22]]))

    assert writes_of(j) == StoreWrites(acked=20, info_total=0, split_brain_writes=0,
                                       lost_writes=6, lost_ranges=[[10, 12], [15, 17]],
                                       info_survived=0, info_vanished=0, duplicates=0,
                                       unexpected=2)


def test_split_brain_counts_acks_of_the_old_primary_after_the_promotion() -> None:
    # promote-pg ends at 1000 ms, promoting secondary over primary. Acked by primary after
    # 1000: the ops completing at 1002 and 1102 (2). Not counted: completing at exactly
    # 1000, a failed op to primary, oks to secondary.
    j = base(step("promote-pg", 500, 1000, promotes=PROMOTES),
             op("pg-write", 0, 900, 1000), op("pg-write", 1, 1000, 1002),
             op("pg-write", 2, 1100, 1102), op("pg-write", 3, 1200, 1202, o="fail"),
             ticks("pg-write", 1300, 3, first_seq=4, r="secondary"),
             final_read("pg-write", [[0, 2], [4, 6]]))

    assert writes_of(j).split_brain_writes == 2


def test_split_brain_ends_when_a_failback_makes_the_old_primary_primary_again() -> None:
    # promote-pg at 1000 ms demotes primary; failback-pg at 2000 ms demotes secondary and
    # makes primary primary again. Split-brain: the ack of primary at 1502 and the ack of
    # secondary at 2202; not the ack of secondary at 1602 nor of primary at 2102.
    j = base(step("promote-pg", 500, 1000, promotes=PROMOTES),
             step("failback-pg", 1800, 2000, promotes=[
                 {"store": "pg-write", "from": "secondary", "to": "primary"}]),
             op("pg-write", 0, 1500, 1502), op("pg-write", 1, 1600, 1602, r="secondary"),
             op("pg-write", 2, 2100, 2102), op("pg-write", 3, 2200, 2202, r="secondary"),
             final_read("pg-write", [[0, 3]]))

    assert writes_of(j).split_brain_writes == 2


def test_without_a_good_final_read_the_counts_it_decides_are_unknown() -> None:
    j = base(ticks("pg-write", 0, 5), op("pg-write", 5, 500, 1500, o="info"),
             final_read("pg-write", [], ok=False))

    assert writes_of(j) == StoreWrites(acked=5, info_total=1, split_brain_writes=0,
                                       lost_writes=None, lost_ranges=None, info_survived=None,
                                       info_vanished=None, duplicates=None, unexpected=None)


def test_overlapping_ranges_are_merged() -> None:
    read = FinalRead(store="s", ok=True, error=None, ranges=[[5, 9], [0, 3], [4, 6], [12, 12]],
                     dups=[], rows=13)
    present = present_seqs(read)

    assert present.firsts.tolist() == [0, 12]
    assert present.lasts.tolist() == [9, 12]
    assert present.count == 11
    assert present.contains(np.array([-1, 0, 9, 10, 11, 12, 13])).tolist() == [
        False, True, True, False, False, True, False]


def test_seq_ranges() -> None:
    assert seq_ranges(np.array([], dtype=np.int64)) == []
    assert seq_ranges(np.array([3, 4, 5, 9, 11, 12])) == [[3, 5], [9, 9], [11, 12]]
