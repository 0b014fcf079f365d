"""Stand-ins for Slack's incoming webhooks and Telegram's Bot API (devstack's alert receivers)."""
