"""Notifications: an outbox of events written with the changes they announce, delivered by a worker.

- ``events``: ``publish`` and the domain's publishers (arrival recorded, absence at a lesson's end, a
  correction, a lesson closed), called inside the domain transaction, so an event exists iff its change
  committed, and exactly once (``dedupe_key``).
- ``worker``: fans events out to contacts (``notification_delivery``, one row per event, contact and channel:
  the idempotency key), sends what is due, retries with exponential backoff, dead-letters after
  ``notify_max_attempts``, defers human channels during the school's quiet hours, and turns lessons that
  ended without being closed into absence events.
- ``channels``: email (SMTP, aiosmtplib), signed webhooks (HMAC-SHA256), SMS and push behind a provider
  interface (Twilio and ntfy adapters, and log-only providers for development).
- ``templates``: localised texts (Jinja2, ``templates/<language>/``), ``tokens``: signed unsubscribe links and
  webhook signatures, ``summaries``: daily/weekly attendance summaries for teachers.

Nothing here logs a student id, name or contact address: logs carry delivery ids and pseudonyms only.
See docs/NOTIFICATIONS.md.
"""
