"""The local platform and Slack server that tests and the demo run Tesoro against.

Tesoro reaches every platform through its official client library (tweepy, praw,
atproto, Mastodon.py, slack_sdk). Tests and `tesoro demo` point those real clients at
this simulator: one Starlette app on 127.0.0.1 that serves each platform's real JSON
shapes, paging, auth and rate-limit headers, over a growing world of believable posts.

What is in it:

- `x`, `reddit`, `bluesky`, `mastodon`: the four platform APIs the collectors call, with
  their search, paging, auth and rate-limit behaviour.
- `slack`: Slack's `chat.postMessage` and incoming webhooks, for the alert sender.
- `app`, `server`: the ASGI app (an explicit list of every platform's routes, plus the
  `/_sim/*` controls) and a server on a free port in a background thread.
- `state`, `faults`, `common`: what the routes share: the world, credentials, injected
  faults, the Slack inbox.
- `model`, `world`: the platform-neutral posts, authors and media, and the thread-safe
  world that grows.
- `generator/`: makes each post (EN/ES reviews, unboxings, complaints, spam, off-topic...),
  deterministic per seed; `data/` holds its phrase pools, names and lexicons as TOML.
- `demo`: the wiring of `tesoro demo`, the packaged settings pointed at a running simulator.

The fifth source, file imports (CSV/JSON Lines exports), reads local files and needs
no server: its tests write the files they import.

Only tests, benchmarks and the CLI's `demo` command import this package; the service
itself never does (tests/simulator/test_sim_package.py checks it).
"""
