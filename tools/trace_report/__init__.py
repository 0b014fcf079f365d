"""`make trace-report`: where time goes, per endpoint and per span, from Jaeger's API."""
