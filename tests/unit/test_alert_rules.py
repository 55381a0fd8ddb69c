"""The alert rules file: a full valid file, and every problem located by file, line and key."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from tallyclerk.alerts import RULE_KINDS, AlertRules, Rule, RulesError, load_rules, parse_rules
from tallyclerk.alerts._rules import KIND_FIELDS, threshold
from tallyclerk.errors import InputError

VALID = """\
contacts:
  liaison:
    name: Dana Ruiz
    email: dana@brand.example
    webhook: ops
  ops-lead:
    name: Sam Ito
    email: sam@brand.example
  pager:
    name: On call
    webhook: pager
channels:
  email:
    host: smtp.brand.example
    port: 587
    sender: alerts@brand.example
    starttls: true
    username: alerts
    password_env: SMTP_PASSWORD
  webhooks:
    ops: {url: "https://hooks.example/services/ops", secret_env: OPS_HOOK_SECRET}
    pager: {url: "http://127.0.0.1:9000/hook"}
escalation:
  chain: [liaison, ops-lead]
  after_minutes: 45
quiet_hours:
  start: "22:00"
  end: "07:00"
  timezone: America/New_York
ack_base_url: https://tower.brand.example
rules:
  - name: burn
    kind: burn_rate
    states: [page]
    metrics: [ship_on_time_rate]
  - name: stuck
    kind: stuck_orders
    older_than_hours: 24
    min_count: 5
    severity: page
    providers: [eastbridge]
    chain: [pager, liaison]
    escalate_after_minutes: 15
  - {name: lost, kind: no_first_scan}
  - {name: stock, kind: inventory_variance, min_value: 500}
  - {name: bill, kind: overbilling, min_amount: 25.5}
  - {name: peak, kind: capacity_risk, weeks: 8}
  - {name: silent, kind: source_silent, hours: 12}
  - {name: answer, kind: dispute_deadline, hours: 6}
"""


def problems(text: str) -> list[tuple[int | None, str, str]]:
    """(line, key, message) of every problem parse_rules reports."""
    with pytest.raises(RulesError) as caught:
        parse_rules(text, "alerts.yaml")
    return [(e.line, e.key, e.message) for e in caught.value.errors]


def edited(old: str, new: str) -> str:
    assert old in VALID, old
    return VALID.replace(old, new, 1)


def test_a_full_valid_file() -> None:
    rules = parse_rules(VALID, "alerts.yaml")
    assert isinstance(rules, AlertRules)
    assert [r.kind for r in rules.rules] == list(RULE_KINDS)
    assert sorted(rules.contacts) == ["liaison", "ops-lead", "pager"]
    assert rules.channels.email is not None
    assert (rules.channels.email.host, rules.channels.email.port) == ("smtp.brand.example", 587)
    assert rules.channels.email.starttls is True
    assert rules.channels.webhooks["ops"].secret_env == "OPS_HOOK_SECRET"
    assert rules.channels.webhooks["pager"].secret_env is None
    assert rules.quiet_hours is not None
    assert (rules.quiet_hours.start_time, rules.quiet_hours.end_time) == (time(22), time(7))
    assert rules.ack_base_url == "https://tower.brand.example"

    stuck = rules.rule("stuck")
    assert stuck is not None
    assert stuck.severity == "page"
    assert stuck.providers == ["eastbridge"]
    assert [c.name for c in rules.chain_of(stuck)] == ["On call", "Dana Ruiz"]
    assert rules.escalate_after(stuck) == 15
    burn = rules.rule("burn")
    assert burn is not None
    assert burn.severity == "warn"
    assert (burn.states, burn.metrics) == (["page"], ["ship_on_time_rate"])
    assert [c.name for c in rules.chain_of(burn)] == ["Dana Ruiz", "Sam Ito"]
    assert rules.escalate_after(burn) == 45
    assert rules.rule("nothing") is None


def test_thresholds_given_and_defaulted() -> None:
    rules = parse_rules(VALID, "alerts.yaml")

    def rule(name: str) -> Rule:
        found = rules.rule(name)
        assert found is not None
        return found

    assert threshold(rule("stuck"), "older_than_hours") == 24.0
    assert threshold(rule("stuck"), "min_count") == 5.0
    assert threshold(rule("lost"), "older_than_hours") == 0.0  # the kind's default
    assert threshold(rule("lost"), "min_count") == 1.0
    assert threshold(rule("stock"), "min_value") == 500.0
    assert threshold(rule("bill"), "min_amount") == 25.5
    assert threshold(rule("peak"), "weeks") == 8.0
    assert threshold(rule("silent"), "hours") == 12.0
    assert threshold(rule("answer"), "hours") == 6.0
    bare = parse_rules(
        edited(
            "{name: silent, kind: source_silent, hours: 12}", "{name: silent, kind: source_silent}"
        )
    ).rule("silent")
    assert bare is not None
    assert threshold(bare, "hours") == KIND_FIELDS["source_silent"]["hours"] == 24.0
    with pytest.raises(KeyError):
        threshold(rule("stock"), "hours")  # not a threshold of inventory_variance


def test_unknown_kind_is_located() -> None:
    found = problems(edited("kind: no_first_scan}", "kind: lost_parcels}"))
    assert len(found) == 1
    line, key, message = found[0]
    assert (line, key) == (44, "rules[2].kind")
    assert message.startswith("input should be 'burn_rate', 'stuck_orders'")
    assert message.endswith("got 'lost_parcels'")


def test_a_threshold_of_another_kind_is_refused() -> None:
    found = problems(edited("    min_count: 5\n", "    min_count: 5\n    hours: 3\n"))
    assert found == [
        (
            40,
            "rules[1].hours",
            "does not apply to a stuck_orders rule (it takes older_than_hours, min_count)",
        )
    ]
    found = problems(
        edited(
            "kind: inventory_variance, min_value: 500", "kind: inventory_variance, min_amount: 500"
        )
    )
    assert found == [
        (
            45,
            "rules[3].min_amount",
            "does not apply to an inventory_variance rule (it takes min_value)",
        )
    ]
    found = problems(edited("    states: [page]\n", "    states: [page]\n    weeks: 2\n"))
    assert found == [
        (35, "rules[0].weeks", "does not apply to a burn_rate rule (it takes states, metrics)")
    ]


def test_unknown_contacts_in_chains() -> None:
    found = problems(edited("  chain: [liaison, ops-lead]", "  chain: [liaison, boss]"))
    assert found == [
        (24, "escalation.chain[1]", "'boss' is not a contact (liaison, ops-lead, pager)")
    ]
    found = problems(edited("    chain: [pager, liaison]", "    chain: [pagr, liaison]"))
    assert found == [
        (42, "rules[1].chain[0]", "'pagr' is not a contact (liaison, ops-lead, pager)")
    ]


def test_a_contact_nobody_can_reach() -> None:
    found = problems(edited("    name: On call\n    webhook: pager\n", "    name: On call\n"))
    assert found == [(9, "contacts.pager", "needs an email or a webhook to be reached")]
    found = problems(edited("    webhook: pager\n", "    webhook: pagr\n"))
    assert found == [
        (11, "contacts.pager.webhook", "names no channel under channels.webhooks (ops, pager)")
    ]
    no_email = edited(
        "  email:\n    host: smtp.brand.example\n    port: 587\n    sender: alerts@brand.example\n"
        "    starttls: true\n    username: alerts\n    password_env: SMTP_PASSWORD\n",
        "",
    )
    assert [(key, message) for _, key, message in problems(no_email)] == [
        ("contacts.liaison.email", "has an email but channels.email is not set"),
        ("contacts.ops-lead.email", "has an email but channels.email is not set"),
    ]


def test_bad_quiet_hours() -> None:
    found = problems(
        edited('  start: "22:00"\n', '  start: "24:00"\n').replace(
            "timezone: America/New_York", "timezone: America/Gotham"
        )
    )
    assert found == [
        (27, "quiet_hours.start", "must be a time of day like 22:00, got '24:00'"),
        (
            29,
            "quiet_hours.timezone",
            "must be a time zone like America/New_York, got 'America/Gotham'",
        ),
    ]


def test_several_problems_are_reported_at_once_in_file_order() -> None:
    text = edited("kind: overbilling, min_amount: 25.5", "kind: overbilling, min_amount: -1")
    text = text.replace("    port: 587\n", "    port: 70000\n")
    with pytest.raises(RulesError) as caught:
        parse_rules(text, "alerts.yaml")
    error = caught.value
    assert isinstance(error, InputError)
    assert [(e.line, e.key) for e in error.errors] == [
        (15, "channels.email.port"),
        (46, "rules[4].min_amount"),
    ]
    assert str(error).splitlines()[0] == "2 problems in alerts.yaml:"
    assert str(error).splitlines()[1].startswith("  alerts.yaml:15: channels.email.port: ")


def test_duplicate_rule_names_and_unknown_keys() -> None:
    found = problems(
        edited("{name: lost, kind: no_first_scan}", "{name: stuck, kind: no_first_scan}")
    )
    assert found == [(44, "rules[2].name", "another rule is already named 'stuck'")]
    (problem,) = problems(edited("    min_count: 5\n", "    min_cuont: 5\n"))
    assert problem[:2] == (39, "rules[1].min_cuont")
    assert problem[2].startswith("unknown key 'min_cuont' (did you mean 'min_count'?")


def test_load_rules_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text(VALID, encoding="utf-8")
    assert load_rules(path) == parse_rules(VALID, str(path))
    broken = tmp_path / "broken.yaml"
    broken.write_text(edited("kind: no_first_scan}", "kind: nope}"), encoding="utf-8")
    with pytest.raises(RulesError, match=rf"^{broken}:44: rules\[2\]\.kind: "):
        load_rules(broken)
    with pytest.raises(RulesError, match="cannot read the file"):
        load_rules(tmp_path / "missing.yaml")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("contacts: {caf\xe9: {name: x}}\n".encode("latin-1"))
    with pytest.raises(RulesError, match=r"not UTF-8 text \(byte 14\)"):
        load_rules(latin)
