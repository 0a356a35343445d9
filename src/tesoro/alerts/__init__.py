"""Slack alerts: rules over what is new in the store, spike detection, and an outbox that delivers.

rules.py     evaluate_rules: rules -> pending alerts (dedupe, cooldown)
spikes.py    the seasonal spike detector (pure functions over hourly counts)
delivery.py  deliver_pending: the outbox (digests, retries, delivery log)
slack.py     Slack channels through slack_sdk (webhook, bot token)
webhook.py   the generic JSON webhook channel
blocks.py    Block Kit rendering with escaping of untrusted text
channels.py  which channels a rule uses, from settings and the environment
jobs.py      alert_jobs: what the scheduler runs
commands.py  `tesoro alerts ...`
"""
