"""Slack alerts: rules over what is new in the store, spike detection, and an outbox that delivers.

rules.py     evaluate_rules: rules -> pending alerts (dedupe, cooldown)
context.py   what one rule's evaluation sees (RuleContext) and the alert payloads
kinds.py     one evaluator per rule kind
spikes.py    the seasonal spike detector (pure functions over hourly counts)
delivery.py  deliver_pending: the outbox (digests, retries, delivery log)
slack.py     Slack channels through slack_sdk (webhook, bot token)
webhook.py   the generic JSON webhook channel
blocks.py    Block Kit rendering with escaping of untrusted text
readable.py  a delivery's message built again and put in plain words (the alerts page)
channels.py  which channels a rule uses, from settings and the environment
jobs.py      alert_jobs: what the scheduler runs
models.py    the alert and message types channels send

The command line is `tesoro.cli.alerts`; the queries are in `tesoro.store.alerts`.
"""
