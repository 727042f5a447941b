"""Call order without a database: strict, ratio:N and aging:X; fifo and ordered counters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layso.queue import Invalid
from layso.queue.policy import (
    Candidate,
    Policy,
    ahead_bounds,
    call_order,
    parse_policy,
    pick_next,
)

T0 = datetime(2026, 11, 25, 1, 30, tzinfo=UTC)


def cand(id_: int, minute: float, priority: bool = False, service: int = 1) -> Candidate:
    return Candidate(id=id_, service_id=service, priority=priority,
                     queue_at=T0 + timedelta(minutes=minute))


def ids(order: list[Candidate]) -> list[int]:
    return [c.id for c in order]


# -- examples --------------------------------------------------------------------------------

def test_strict_calls_every_priority_ticket_first_each_class_in_queue_order():
    cs = [cand(1, 0), cand(2, 1, True), cand(3, 2), cand(4, 3, True)]
    assert ids(call_order(cs, Policy("strict"))) == [2, 4, 1, 3]


def test_ratio_allows_n_normal_calls_between_priority_calls():
    cs = [cand(1, 0), cand(2, 1), cand(3, 2), cand(4, 3), cand(5, 4, True), cand(6, 5, True)]
    assert ids(call_order(cs, parse_policy("ratio:2"))) == [1, 2, 5, 3, 4, 6]
    # the counter already made two normal calls: the priority ticket goes now
    assert pick_next(cs, parse_policy("ratio:2"), streak=2).id == 5
    assert pick_next(cs, parse_policy("ratio:2"), streak=1).id == 1


def test_ratio_takes_an_older_priority_ticket_at_once():
    cs = [cand(1, 0, True), cand(2, 1), cand(3, 2, True)]
    assert ids(call_order(cs, parse_policy("ratio:3"))) == [1, 2, 3]


def test_aging_counts_priority_as_having_waited_longer():
    cs = [cand(1, 0), cand(2, 9, True), cand(3, 11, True)]
    assert ids(call_order(cs, parse_policy("aging:10"))) == [2, 1, 3]


def test_fifo_counter_takes_the_oldest_across_its_services_ordered_its_first_service():
    cs = [cand(1, 0, service=2), cand(2, 1, service=1), cand(3, 2, service=2)]
    assert pick_next(cs, Policy("strict")).id == 1
    assert pick_next(cs, Policy("strict"), service_order=[1, 2]).id == 2
    assert ids(call_order(cs, Policy("strict"), service_order=[1, 2])) == [2, 1, 3]
    assert ids(call_order(cs, Policy("strict"), service_order=[2, 1])) == [1, 3, 2]


def test_ordered_counter_ignores_services_it_does_not_serve():
    cs = [cand(1, 0, service=3), cand(2, 1, service=1)]
    assert ids(call_order(cs, Policy("strict"), service_order=[1])) == [2]
    assert pick_next([cand(1, 0, service=3)], Policy("strict"), service_order=[1]) is None


def test_nothing_waits():
    for policy in ("strict", "ratio:1", "aging:5"):
        assert pick_next([], parse_policy(policy)) is None
        assert call_order([], parse_policy(policy)) == []


def test_same_queue_time_falls_back_to_issue_order():
    cs = [cand(5, 0), cand(3, 0), cand(4, 0)]
    for policy in ("strict", "ratio:1", "aging:0"):
        assert ids(call_order(cs, parse_policy(policy))) == [3, 4, 5]


@pytest.mark.parametrize("text,expected", [
    ("strict", "strict"), (" strict ", "strict"), ("ratio:1", "ratio:1"),
    ("ratio:100", "ratio:100"),
    ("ratio:03", "ratio:3"), ("aging:0", "aging:0"), ("aging:1440", "aging:1440"),
])
def test_parse_policy_accepts(text, expected):
    assert str(parse_policy(text)) == expected


@pytest.mark.parametrize("text", [
    "", "fifo", "ratio", "ratio:", "ratio:0", "ratio:101", "aging:1441", "aging:-1", "ratio:1.5",
    "Strict", "ratio:²", "aging:٣", "ratio: 3", None, 3, ["strict"],
])
def test_parse_policy_refuses_with_invalid(text):
    with pytest.raises(Invalid) as info:
        parse_policy(text)
    assert info.value.code == "invalid_policy"


# -- properties ------------------------------------------------------------------------------

minutes = st.integers(min_value=0, max_value=240)
candidates = st.lists(
    st.tuples(minutes, st.booleans(), st.integers(min_value=1, max_value=3)), max_size=30,
).map(lambda rows: [cand(i + 1, m, p, s) for i, (m, p, s) in enumerate(rows)])
policies = st.one_of(
    st.just(Policy("strict")),
    st.integers(min_value=1, max_value=5).map(lambda n: Policy("ratio", n)),
    st.integers(min_value=0, max_value=120).map(lambda n: Policy("aging", n)),
)
service_orders = st.one_of(st.none(), st.permutations([1, 2, 3]).map(list),
                           st.just([2]), st.just([3, 1]))


def fifo_key(c: Candidate) -> tuple[datetime, int]:
    return (c.queue_at, c.id)


@settings(max_examples=300)
@given(candidates, policies, st.integers(min_value=0, max_value=6), service_orders)
def test_order_is_a_permutation_and_pick_next_is_its_head(cs, policy, streak, order):
    out = call_order(cs, policy, streak, order)
    served = cs if order is None else [c for c in cs if c.service_id in order]
    assert sorted(ids(out)) == sorted(ids(served))
    head = pick_next(cs, policy, streak, order)
    assert (head.id if head else None) == (out[0].id if out else None)


@settings(max_examples=300)
@given(candidates, policies, st.integers(min_value=0, max_value=6))
def test_within_a_priority_class_the_order_is_queue_order(cs, policy, streak):
    out = call_order(cs, policy, streak)
    for klass in (True, False):
        part = [c for c in out if c.priority is klass]
        assert part == sorted(part, key=fifo_key)


@settings(max_examples=300)
@given(candidates, policies, st.integers(min_value=0, max_value=6), service_orders)
def test_ordered_counter_empties_each_service_in_its_order(cs, policy, streak, order):
    if order is None:
        order = [1, 2, 3]
    services = [c.service_id for c in call_order(cs, policy, streak, order)]
    assert services == sorted(services, key=order.index)


@settings(max_examples=300)
@given(candidates, st.integers(min_value=1, max_value=5), st.integers(min_value=0, max_value=6))
def test_ratio_never_makes_more_than_n_normal_calls_in_a_row_while_priority_waits(cs, n, streak):
    out = call_order(cs, Policy("ratio", n), streak)
    left = sum(c.priority for c in out)
    for c in out:
        if c.priority:
            left -= 1
            streak = 0
        else:
            if left:
                assert streak < n  # this normal call is at most the n-th in a row
            streak += 1


@settings(max_examples=300)
@given(candidates, st.integers(min_value=1, max_value=5))
def test_ratio_without_priority_tickets_is_plain_fifo(cs, n):
    normal = [c for c in cs if not c.priority]
    assert call_order(normal, Policy("ratio", n)) == sorted(normal, key=fifo_key)


@settings(max_examples=300)
@given(candidates)
def test_aging_zero_is_plain_fifo(cs):
    assert call_order(cs, Policy("aging", 0)) == sorted(cs, key=fifo_key)


@settings(max_examples=300)
@given(candidates, st.integers(min_value=0, max_value=120))
def test_aging_calls_by_queue_time_less_the_bonus(cs, x):
    out = call_order(cs, Policy("aging", x))
    keys = [c.queue_at - timedelta(minutes=x) if c.priority else c.queue_at for c in out]
    assert keys == sorted(keys)


@settings(max_examples=300)
@given(candidates)
def test_strict_puts_every_priority_ticket_before_every_normal_one(cs):
    flags = [c.priority for c in call_order(cs, Policy("strict"))]
    assert flags == sorted(flags, reverse=True)


@settings(max_examples=300)
@given(candidates, policies, st.integers(min_value=0, max_value=6))
def test_repeated_pick_next_follows_call_order(cs, policy, streak):
    """Calling one by one, with the streak a counter keeps, gives the planned order."""
    planned = call_order(cs, policy, streak)
    left, picked = list(cs), []
    while left:
        c = pick_next(left, policy, streak)
        picked.append(c)
        left.remove(c)
        streak = 0 if c.priority else streak + 1
    assert picked == planned


@given(st.one_of(st.text(max_size=12), st.integers(), st.none(), st.floats()))
def test_parse_policy_never_fails_with_anything_but_invalid(text):
    try:
        policy = parse_policy(text)
    except Invalid:
        return
    assert parse_policy(str(policy)) == policy


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 30)), min_size=1, max_size=25),
       st.sampled_from(["strict", "aging:0", "aging:5", "aging:20"]))
def test_ahead_bounds_count_what_call_order_puts_first(tickets, policy_text):
    """The COUNT form of a ticket's place agrees with its index in call_order (ties by id)."""
    base = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    cands = [Candidate(id=i + 1, service_id=1, priority=p, queue_at=base + timedelta(minutes=m))
             for i, (p, m) in enumerate(tickets)]
    policy = parse_policy(policy_text)
    order = [c.id for c in call_order(cands, policy)]
    for t in cands:
        prio_before, normal_before = ahead_bounds(policy, t.priority, t.queue_at)
        count = sum(
            1 for c in cands if c.id != t.id and (
                (c.queue_at, c.id) < ((prio_before if c.priority else normal_before), t.id)))
        assert count == order.index(t.id)
