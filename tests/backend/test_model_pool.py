"""The pool: least outstanding first, never past an endpoint's slots, waiting in the backend when
all are full; and the client's failover across endpoints and tiers."""
import threading
import time

import pytest

from backend.agent.circuit_breaker import CircuitBreaker
from backend.agent.model_client import ModelClient, ModelUnavailable
from backend.agent.model_endpoints import EndpointSpec, parse_endpoints
from backend.agent.model_pool import ModelPool, PooledEndpoint, PoolTimeout
from backend.understanding.classifier import schema as intent_schema
from tests.backend.scripted_model import ScriptedModel

ANSWER = {"type": "object", "properties": {"respuesta_chat": {"type": "string"}}, "required": ["respuesta_chat"]}


def endpoint(name: str, tier: str = "model", slots: int = 1, threshold: int = 3) -> PooledEndpoint:
    return PooledEndpoint(EndpointSpec(url=f"http://{name}:1", tier=tier, slots=slots), CircuitBreaker(threshold, 60))


def soon() -> float:
    return time.monotonic() + 2


def test_least_outstanding_relative_to_slots_first_then_the_one_chosen_longest_ago():
    small, big = endpoint("small", slots=1), endpoint("big", slots=4)
    pool = ModelPool([small, big])
    taken = [pool.acquire("model", set(), soon()) for _ in range(5)]
    assert [e.spec.url for e in taken].count("http://big:1") == 4 and taken.count(small) == 1
    assert (small.outstanding, big.outstanding) == (1, 4)
    for e in taken:
        pool.release(e)
    first, second = pool.acquire("model", set(), soon()), pool.acquire("model", set(), soon())
    assert {first, second} == {small, big}  # both idle: the one chosen longest ago goes first


def test_a_full_pool_makes_the_caller_wait_for_the_first_free_slot_and_not_longer():
    only = endpoint("only")
    pool = ModelPool([only])
    held = pool.acquire("model", set(), soon())
    threading.Timer(0.3, pool.release, [held]).start()
    started = time.monotonic()
    assert pool.acquire("model", set(), soon()) is only
    assert 0.25 < time.monotonic() - started < 1.5
    with pytest.raises(PoolTimeout, match="stayed busy"):
        pool.acquire("model", set(), time.monotonic() + 0.2)


def test_waiters_are_served_in_arrival_order():
    only = endpoint("only")
    pool = ModelPool([only])
    held = pool.acquire("model", set(), soon())
    served = []

    def wait(name: str) -> None:
        taken = pool.acquire("model", set(), time.monotonic() + 10)
        served.append(name)
        time.sleep(0.05)
        pool.release(taken)
    waiters = []
    for name in ("first", "second", "third", "fourth"):
        waiters.append(threading.Thread(target=wait, args=(name,)))
        waiters[-1].start()
        time.sleep(0.05)  # each in the line before the next comes
    pool.release(held)
    for waiter in waiters:
        waiter.join(timeout=10)
    assert served == ["first", "second", "third", "fourth"]


def test_a_waiter_that_cannot_use_the_free_slot_does_not_hold_up_one_that_can():
    tried, other = endpoint("tried"), endpoint("other")
    pool = ModelPool([tried, other])
    busy = pool.acquire("model", {tried}, soon())  # "other" is busy
    assert busy is other
    result = {}
    waiting = threading.Thread(target=lambda: result.setdefault("early", pool.acquire("model", {tried}, soon())))
    waiting.start()  # came first, but has tried "tried" already: it waits for "other"
    time.sleep(0.1)
    assert pool.acquire("model", set(), soon()) is tried  # the later caller takes the free one at once
    pool.release(other)
    waiting.join(timeout=5)
    assert result["early"] is other


def test_open_circuits_and_tried_endpoints_are_passed_over_and_a_stale_down_is_not_final():
    first, second = endpoint("first", threshold=1), endpoint("second")
    pool = ModelPool([first, second])
    first.breaker.record(False)
    assert pool.acquire("model", set(), soon()) is second
    assert pool.acquire("model", {second}, soon()) is None  # nothing left to try: no waiting
    third = endpoint("third")
    pool = ModelPool([third, endpoint("fourth")])
    third.healthy = False
    assert pool.acquire("model", set(), soon()).spec.url == "http://fourth:1"
    pool.endpoints[1].healthy = False
    assert pool.acquire("model", set(), soon()) is third  # all reported down: try anyway, fail fast if so


def test_tiers_are_separate():
    pool = ModelPool([endpoint("tiny", tier="classify"), endpoint("big")])
    assert pool.acquire("classify", set(), soon()).spec.url == "http://tiny:1"
    assert pool.acquire("secondary", set(), soon()) is None


def client(urls: str, secondary: str = "", classify: str = "", retries: int = 1, timeout_s: float = 5) -> ModelClient:
    specs = [*parse_endpoints(classify, "", "classify", "C"), *parse_endpoints(urls, "", "model", "M"),
             *parse_endpoints(secondary, "", "secondary", "S")]
    return ModelClient(ModelPool.of(specs), timeout_s, retries)


@pytest.fixture
def models():
    started = []

    def make(answer: str) -> ScriptedModel:
        model = ScriptedModel().answer_by_default(answer)
        started.append(model)
        return model
    yield make
    for model in started:
        model.stop()


def test_a_busy_endpoint_passes_the_request_to_the_next_at_once(models):
    busy, free = models("ocupado"), models("libre")
    busy.fail(503, retry_after="30")
    started = time.monotonic()
    output, tier = client(f"{busy.url},{free.url}").ask("s", "c", ANSWER)
    assert time.monotonic() - started < 3  # no 30 s wait while another endpoint is free
    assert len(busy.requests) + len(free.requests) >= 1 and tier == "model"
    assert output["respuesta_chat"] in ("libre", "ocupado")


def test_a_dead_endpoint_fails_over_within_its_tier_then_to_the_next_tier(models):
    alive = models("vivo")
    assert client(f"http://127.0.0.1:9,{alive.url}").ask("s", "c", ANSWER) == ({"respuesta_chat": "vivo"}, "model")
    spare = models("reserva")
    assert client("http://127.0.0.1:9", secondary=spare.url).ask("s", "c", ANSWER) == ({"respuesta_chat": "reserva"},
                                                                                        "secondary")
    with pytest.raises(ModelUnavailable, match="127.0.0.1:9: ConnectionError"):
        client("http://127.0.0.1:9", secondary=spare.url).ask("s", "c", ANSWER, allowed={"model"})


def test_an_answer_that_does_not_fit_goes_to_the_next_endpoint(models):
    wrong, right = models("x"), models("bien")
    wrong.answer_raw({"otra_cosa": 1})
    pool_client = client(f"{wrong.url},{right.url}")
    first = pool_client.pool.endpoints[0]
    first.last_chosen = -1.0  # the wrong one goes first
    assert pool_client.ask("s", "c", ANSWER)[0] == {"respuesta_chat": "bien"}


def test_classifications_go_to_their_own_tier_and_fall_back_to_the_answer_models(models):
    tiny, big = models("-"), models("respuesta")
    both = client(big.url, classify=tiny.url)
    assert both.ask("s", "c", intent_schema(["riego", "plaga"]), purpose="classify") == ({"intencion": "plaga"}, "classify")
    assert both.ask("s", "c", ANSWER) == ({"respuesta_chat": "respuesta"}, "model")
    assert len(tiny.classify_requests) == 1 and not big.classify_requests and len(big.requests) == 1
    assert both.tiers() == ["model"]  # quotas are for answers; the classify tier is not one
    lost = client(big.url, classify="http://127.0.0.1:9")
    assert lost.ask("s", "c", intent_schema(["riego"]), purpose="classify")[1] == "model"
