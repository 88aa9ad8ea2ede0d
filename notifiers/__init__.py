"""Notifiers deliver rendered digests: outbox folder (default), SMTP, webhook."""
