"""Stand-in for a Web Push service and the browser behind it (VAPID checked, payloads decrypted)."""
