"""Webhooks against a real HTTP server on 127.0.0.1: the signature, retry after a failure and after a
timeout, giving up, and an alarm's notification end to end."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from data.alerting import alarm_evaluation, alarms, webhooks
from data.core.scope import Scope
from tests.cdr_factory import UTC
from tests.test_alarm_support import Receiver, make_call, store, switch


def test_a_post_is_signed_and_retried_after_a_failure(app):
    with Receiver(script=[500]) as receiver:
        hook = webhooks.save_webhook("ops", receiver.url, "s3cret")
        delivery = webhooks.enqueue(hook["id"], "alarm.raised", {"alarm": {"name": "x"}, "value": 1.5}, dedup_key="k1")
        assert webhooks.enqueue(hook["id"], "alarm.raised", {"alarm": {"name": "x"}}, dedup_key="k1") is None
        now = datetime.now(UTC)
        assert webhooks.deliver_due(now=now) == {"delivered": 0, "retry": 1, "failed": 0}
        row = webhooks.db.rows("SELECT * FROM webhook_delivery WHERE id = :id", id=delivery)[0]
        assert (row["status"], row["attempts"], row["last_status_code"]) == ("pending", 1, 500)
        assert row["next_attempt_at"] == now + timedelta(seconds=webhooks.BACKOFF_SECONDS[0])
        assert webhooks.deliver_due(now=now + timedelta(seconds=10))["retry"] == 0  # not due yet: nothing sent
        assert len(receiver.requests) == 1
        assert webhooks.deliver_due(now=now + timedelta(seconds=31)) == {"delivered": 1, "retry": 0, "failed": 0}
    first, second = receiver.requests
    assert first["body"] == second["body"]
    for request in receiver.requests:
        signature = request["headers"]["X-Dialstat-Signature"]
        assert webhooks.verify_signature("s3cret", request["body"], signature)
        assert not webhooks.verify_signature("wrong", request["body"], signature)
        assert request["headers"]["Content-Type"] == "application/json"
        assert request["headers"]["X-Dialstat-Event"] == "alarm.raised"
    import hashlib
    import hmac

    expected = "sha256=" + hmac.new(b"s3cret", first["body"], hashlib.sha256).hexdigest()
    assert first["headers"]["X-Dialstat-Signature"] == expected
    payload = json.loads(first["body"])
    assert payload == {"event": "alarm.raised", "alarm": {"name": "x"}, "value": 1.5}
    row = webhooks.db.rows("SELECT * FROM webhook_delivery WHERE id = :id", id=delivery)[0]
    assert (row["status"], row["attempts"], row["last_error"]) == ("delivered", 2, None)


def test_a_timeout_is_retried_and_a_dead_endpoint_given_up(app):
    with Receiver(delay=0.6) as slow:
        hook = webhooks.save_webhook("slow", slow.url, "k")
        webhooks.enqueue(hook["id"], "threat.velocity", {"threat": {}})
        now = datetime.now(UTC)
        assert webhooks.deliver_due(now=now, timeout=0.2)["retry"] == 1
        error = webhooks.db.scalar("SELECT last_error FROM webhook_delivery WHERE webhook_id = :id", id=hook["id"])
        assert "timed out" in error.lower()
        slow.delay = 0
        assert webhooks.deliver_due(now=now + timedelta(minutes=1))["delivered"] == 1
    dead = webhooks.save_webhook("dead", "http://127.0.0.1:9/nothing-listens", "k")
    webhooks.enqueue(dead["id"], "threat.spike", {"threat": {}})
    when, results = datetime.now(UTC), []
    for _ in range(webhooks.MAX_ATTEMPTS):
        results.append(webhooks.deliver_due(now=when))
        when += timedelta(hours=3)
    assert [r["retry"] for r in results] == [1] * (webhooks.MAX_ATTEMPTS - 1) + [0]
    assert results[-1]["failed"] == 1
    assert webhooks.db.scalar("SELECT status FROM webhook_delivery WHERE webhook_id = :id", id=dead["id"]) == "failed"
    assert webhooks.deliver_due(now=when + timedelta(days=1)) == {"delivered": 0, "retry": 0, "failed": 0}


def test_an_alarm_posts_to_its_webhook_once_per_period(app, monkeypatch):
    monkeypatch.setattr("data.core.mailer.queue_mail", lambda *a, **kw: None)
    sw = switch()
    hour = datetime(2024, 6, 3, 9, tzinfo=UTC)
    store([make_call(sw, hour + timedelta(minutes=i), 0, accountcode="wh") for i in range(12)])
    with Receiver() as receiver:
        hook = webhooks.save_webhook("alarms", receiver.url, "abc")
        alarm = alarms.save_alarm(
            Scope(user_id=None),
            {
                "name": "no answer",
                "metric": "asr",
                "period": "hour",
                "condition": "lt",
                "threshold": "20",
                "scope_kind": "accountcode",
                "scope_value": "wh",
                "severity": "critical",
                "webhook_id": hook["id"],
                "user_id": 1,
            },
        )
        for _ in range(2):
            alarm_evaluation.run_due(now=hour + timedelta(hours=1, minutes=3))
            webhooks.deliver_due()
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert webhooks.verify_signature("abc", request["body"], request["headers"]["X-Dialstat-Signature"])
    payload = json.loads(request["body"])
    assert payload["event"] == "alarm.raised" and payload["alarm"]["id"] == alarm.id
    assert payload["alarm"]["severity"] == "critical"
    assert payload["evaluation"]["measured"] == 0 and payload["evaluation"]["attempts"] == 12
    assert payload["evaluation"]["period_start"] == hour.isoformat()
